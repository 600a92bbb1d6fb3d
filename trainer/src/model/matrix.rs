//! Strided views of f32 matrices and gemm over them: the products that the
//! fused kernels (attention blocks, linear layers, the vocabulary's backward
//! pass) run on plain slices, without candle tensors around them.

use gemm::Parallelism;

/// A matrix operand: element (r, c) at `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) data: &'a [f32],
    pub(crate) rs: usize,
    pub(crate) cs: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix with `cols` columns.
    pub(crate) fn rows(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: cols,
            cs: 1,
        }
    }
    /// The transpose of a row-major matrix with `cols` columns.
    pub(crate) fn transposed(data: &'a [f32], cols: usize) -> Self {
        Self {
            data,
            rs: 1,
            cs: cols,
        }
    }
    /// The transpose of this view.
    pub(crate) fn t(self) -> Self {
        Self {
            data: self.data,
            rs: self.cs,
            cs: self.rs,
        }
    }
    /// Whether a (rows, cols) matrix lies within `data`.
    pub(crate) fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// dst (m × n, row-major) = [dst +] lhs (m × k) · rhs (k × n), on this thread.
pub(crate) fn matmul(
    dst: &mut [f32],
    m: usize,
    n: usize,
    k: usize,
    lhs: View,
    rhs: View,
    add: bool,
) {
    assert!(dst.len() >= m * n);
    // SAFETY: dst holds m × n initialized elements (asserted above).
    unsafe {
        gemm_into(
            dst.as_mut_ptr(),
            (m, n, k),
            lhs,
            rhs,
            add,
            Parallelism::None,
        )
    }
}

/// dst (m × n, row-major) = lhs (m × k) · rhs (k × n), plus dst's own values
/// when `add`, by gemm with the given parallelism. Every element of dst is
/// written (zeros for an empty product without `add`).
///
/// # Safety
/// `dst` must be valid for m × n writes, and for reads of initialized
/// elements when `add`.
pub(crate) unsafe fn gemm_into(
    dst: *mut f32,
    (m, n, k): (usize, usize, usize),
    lhs: View,
    rhs: View,
    add: bool,
    parallelism: Parallelism,
) {
    assert!(
        lhs.fits(m, k) && rhs.fits(k, n),
        "gemm operands out of bounds"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !add {
            // SAFETY: dst is valid for m × n writes (the caller's contract).
            unsafe { std::ptr::write_bytes(dst, 0, m * n) };
        }
        return;
    }
    // SAFETY: operands checked in bounds above; dst per the caller's contract.
    // Without `add` (read_dst false) gemm overwrites every element.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            add,
            lhs.data.as_ptr(),
            lhs.cs as isize,
            lhs.rs as isize,
            rhs.data.as_ptr(),
            rhs.cs as isize,
            rhs.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        )
    }
}

/// gemm's parallelism over the current rayon pool.
pub(crate) fn on_pool() -> Parallelism {
    Parallelism::Rayon(rayon::current_num_threads())
}
