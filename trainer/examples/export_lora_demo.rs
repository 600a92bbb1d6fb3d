//! Writes a LoRA adapter (PEFT layout) and the merged model for each tiny fixture,
//! for `tests/fixtures/check_interop.py` to load with peft and transformers:
//!
//!     cargo run --release -p adamame-trainer --example export_lora_demo -- /tmp/export

use adamame_trainer::model::{LoraConfig, Qwen, Trainable};
use candle_core::{DType, Device, Tensor};
fn main() {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/export".to_string());
    for name in ["qwen2-tiny", "qwen3-tiny"] {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        let mut m = Qwen::load(&dir, DType::F32, &Device::Cpu, Trainable::Frozen).unwrap();
        m.add_lora(&LoraConfig {
            rank: 4,
            alpha: 32.0,
            ..Default::default()
        })
        .unwrap();
        for (n, v) in m.named_trainable_vars() {
            if n.contains("lora_B") {
                v.set(&Tensor::randn(0f32, 0.05, v.shape(), &Device::Cpu).unwrap())
                    .unwrap();
            }
        }
        let out = std::path::Path::new(&root).join(name);
        m.save_lora(&out.join("adapter")).unwrap();
        m.save_pretrained(&out.join("merged")).unwrap();
    }
}
