//! Table-driven cases for `verify::check` (issue 3): extraction, normalization,
//! numbers, percentages, native numerals, localized cues, last-box semantics,
//! symbolic expressions, tuples / sets / intervals, relations, matrices, and
//! answers taken from the real traces (`fixtures/verify_trace_cases.jsonl`).
//!
//! Each row is `(gold, response, expected)`. A failing row prints its table,
//! index and the verdict, and all failures are reported together.

mod common;

use adamame_pipeline::verify::{check, check_with, Reason, VerifyConfig};

type Case = (&'static str, &'static str, bool);

fn run(table: &str, cases: &[Case]) {
    let mut failures = Vec::new();
    for (i, (gold, resp, expected)) in cases.iter().enumerate() {
        let v = check(gold, resp);
        if v.correct != *expected {
            failures.push(format!(
                "{table}[{i}] gold={gold:?} response={resp:?}: expected {expected}, got {} ({}; extracted {:?}, normalized {:?})",
                v.correct,
                v.reason.as_str(),
                v.extracted,
                v.normalized
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing case(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn boxed_extraction() {
    run(
        "boxed",
        &[
            ("18", "So she makes \\boxed{18} dollars.", true),
            ("18", "\\boxed{18}", true),
            ("18", "$\\boxed{18}$", true),
            ("18", "\\[\\boxed{18}\\]", true),
            ("18", "\\(\\boxed{18}\\)", true),
            ("18", "The total is \\boxed 18 today", true),
            ("5", "\\boxed 5", true),
            ("18", "\\fbox{18}", true),
            ("18", "\\boxed{ 18 }", true),
            ("18", "\\boxed{17}", false),
            ("3", "first \\boxed{2}, then after checking a long explanation that goes on and on, \\boxed{3}", true),
            ("2", "first \\boxed{2}, then after checking a long explanation that goes on and on, \\boxed{3}", false),
            ("\\frac{1}{2}", "\\boxed{\\frac{1}{2}}", true),
            ("\\frac{1}{2}", "\\boxed{\\frac{1}{\\boxed{2}}}", false),
            ("1/2", "nested \\boxed{\\dfrac{1}{2}}", true),
            ("4", "\\boxed{\\{4\\}}", true),
            ("70000", "\\boxed{70,000}", true),
            ("70000", "\\boxed{70\\,000}", true),
            ("70000", "\\boxed{70000} dollars", true),
            ("70000", "\\boxed{\\$70,000}", true),
            ("18", "\\boxed{18 \\text{ dollars}}", true),
            ("18", "\\boxed{\\text{18 dollars}}", true),
            ("18", "\\boxed{18\\text{ ngày}}", true),
            ("16", "Final Answer: \\boxed{16}ドル。", true),
            ("3, 5", "\\boxed{3} and \\boxed{5}", true),
            ("3, 5", "\\boxed{3}, \\boxed{5}", true),
            ("5", "\\boxed{5} \\boxed{5}", true),
            ("12", "\\boxed{12} ... more text\n\nFinal: \\boxed{12}", true),
            ("10455", "we get \\boxed{255} interest. Total $10,455. Final Answer: The final answer is $10,455$. I hope it is correct.", true),
            ("-7", "\\boxed{-7}", true),
            ("-7", "\\boxed{- 7}", true),
            ("7", "\\boxed{-7}", false),
            ("0", "\\boxed{0}", true),
            ("0", "\\boxed{00}", true),
            ("1000", "\\boxed{1000.0}", true),
            ("1000", "\\boxed{1,000.00}", true),
        ],
    );
}

#[test]
fn numbers_fractions_percent() {
    run(
        "numbers",
        &[
            ("0.5", "\\boxed{\\frac{1}{2}}", true),
            ("1/2", "\\boxed{0.5}", true),
            ("1/2", "\\boxed{0.50}", true),
            ("1/3", "\\boxed{0.333333}", true),
            ("1/3", "\\boxed{0.3333333}", true),
            ("1/3", "\\boxed{0.33}", false),
            ("2/3", "\\boxed{0.666667}", true),
            ("2/3", "\\boxed{0.67}", false),
            ("0.4", "\\boxed{.4}", true),
            ("10/9", "\\boxed{\\frac{10}{9}}", true),
            ("-10/9", "\\boxed{-\\frac{10}{9}}", true),
            ("10/9", "\\boxed{\\frac{20}{18}}", true),
            ("1/3", "\\boxed{\\frac13}", true),
            ("1", "\\boxed{\\frac3{3}}", true),
            ("1/3", "\\boxed{\\tfrac{1}{3}}", true),
            ("1/3", "\\boxed{\\cfrac{1}{3}}", true),
            ("5/2", "\\boxed{2\\frac{1}{2}}", true),
            ("2.5", "\\boxed{2 \\frac{1}{2}}", true),
            ("16386.17", "\\boxed{\\$16,386.17}", true),
            ("16386.17", "\\boxed{16386.21}", false),
            ("16386.20", "\\boxed{\\$16,\\!386.20}", true),
            ("1000.99", "\\boxed{1,000.99}", true),
            ("7425000", "\\boxed{7,425,000}", true),
            ("0.1", "\\boxed{10\\%}", true),
            ("10\\%", "\\boxed{0.1}", true),
            ("28\\%", "\\boxed{28}", true),
            ("28\\%", "\\boxed{28\\%}", true),
            ("28\\%", "28 percent", true),
            ("28\\%", "28 pct", true),
            ("28\\%", "28 %", true),
            ("28\\%", "$\\boxed{28}$ pct", true),
            ("28\\%", "\\boxed{28 percent}", true),
            ("25", "\\boxed{75\\%}", false),
            ("9\\%", "\\boxed{0.09}", true),
            ("0.28", "\\boxed{28\\%}", true),
            ("3.14159", "\\boxed{\\pi}", true),
            ("3.14", "\\boxed{\\pi}", false),
            ("1.41421", "\\boxed{\\sqrt{2}}", true),
            ("2^{10}", "\\boxed{1024}", true),
            ("1024", "\\boxed{2^{10}}", true),
            ("120", "\\boxed{5!}", true),
            ("10", "\\boxed{\\binom{5}{2}}", true),
            ("-5", "-5", true),
            ("1000", "1 000", true),
            ("1000", "1000.0", true),
            ("1000.0", "1,000.0", true),
            ("1000.99", "1000,99", true),
            ("1,22", "1.22", true),
            ("0,111", "0.111", true),
            ("2", "AZYUK2A", false),
            ("1e-3", "\\boxed{0.001}", false),
            ("0.001", "\\boxed{10^{-3}}", true),
            (
                "12345678901234567890123456789012345678901234567890",
                "\\boxed{12345678901234567890123456789012345678901234567890}",
                true,
            ),
            (
                "12345678901234567890123456789012345678901234567890",
                "\\boxed{12345678901234567890123456789012345678901234567891}",
                false,
            ),
        ],
    );
}

#[test]
fn separators_and_decimal_commas() {
    run(
        "separators",
        &[
            ("4", "\\boxed{4,00}", true),
            ("28", "\\boxed{28,00}", true),
            ("75", "\\boxed{75,00 \\$}", true),
            ("4.5", "La réponse est 4,5.", true),
            ("4.5", "\\boxed{4{,}5}", true),
            ("21.5", "\\boxed{21{,}5}", true),
            ("14916", "\\boxed{14{,}916}", true),
            ("14916", "$14 {, }916$", true),
            ("1234.56", "Die Antwort ist 1.234,56 Euro.", true),
            ("1234567", "\\boxed{1.234.567}", true),
            ("12000", "Die Antwort ist 12.000 Euro.", true),
            ("12", "The answer is 12.000", true),
            ("1234.5", "Ответ: 1 234,5", true),
            ("8000", "\\(\\boxed{8\\ 000}\\)", true),
            ("88000", "\\boxed{88\\,000}", true),
            ("100000", "उत्तर: 1,00,000", true),
            ("1234", "Antwort: 1'234", true),
            ("3.5", "Ответ: 3,5", true),
            ("0.75", "Antwort: 0,75", true),
            ("3/4", "Respuesta: 0,75", true),
            ("1, 2", "\\boxed{1,2}", true),
            ("(1, 2)", "\\boxed{(1,2)}", true),
            ("1.2", "\\boxed{1,2}", true),
            ("32349", "is $\\boxed{32,\\! 349}$", true),
            (
                "11111111100",
                "is $\\boxed{11,\\! 111,\\! 111,\\! 100}$",
                true,
            ),
            ("1000000", "\\boxed{1\\,000\\,000}", true),
            ("5000", "\\boxed{5 000}", true),
            ("2.74", "Soucis : 2,74 $ a..", true),
            ("1000.99", "the number is not 10 which is 1,000.99€", true),
            ("1000.99", "so the number is 10 which is 1,000.99m²", true),
        ],
    );
}

#[test]
fn native_numerals() {
    run(
        "numerals",
        &[
            ("18", "คำตอบคือ ๑๘ บาท", true),
            ("18", "\\boxed{๑๘}", true),
            ("42", "উত্তর: ৪২", true),
            ("42", "\\boxed{৪২}", true),
            ("45", "الإجابة: ٤٥", true),
            ("45", "\\boxed{٤٥}", true),
            ("3.5", "الجواب هو ٣٫٥", true),
            ("42", "उत्तर: ४२", true),
            ("42", "उत्तर है ४२।", true),
            ("12", "答えは\\boxed{１２}です。", true),
            ("12", "答え：１２個", true),
            ("120", "پاسخ: ۱۲۰", true),
            ("10", "సమాధానం: ౧౦", true),
            ("7", "விடை: ௭", true),
            ("25", "ಉತ್ತರ: ೨೫", true),
            ("9", "ഉത്തരം: ൯", true),
            ("31", "જવાબ: ૩૧", true),
            ("13", "ਜਵਾਬ: ੧੩", true),
            ("70000", "**答え:** 7万ドル", true),
            ("15000", "答案是1.5万元", true),
            ("70000", "정답은 7만 원입니다.", true),
            ("18", "答案是十八", true),
            ("105", "答案是一百零五。", true),
            ("19", "คำตอบคือ ๑๘ บาท", false),
            ("18", "\\boxed{１８}", true),
            ("-3", "\\boxed{−3}", true),
        ],
    );
}

#[test]
fn localized_cues() {
    run(
        "cues",
        &[
            ("42", "We add them up. The answer is 42.", true),
            ("42", "Some work: 3 + 5 = 8. Final answer: 42", true),
            ("42", "The final answer is 42. I hope it is correct.", true),
            ("42", "La réponse est 42.", true),
            ("42", "Donc la réponse est 42 pommes.", true),
            ("42", "A resposta é 42.", true),
            ("42", "La respuesta es 42.", true),
            ("42", "Por lo tanto, la respuesta es 42 manzanas.", true),
            ("42", "Die Antwort ist 42.", true),
            ("42", "Die Antwort lautet 42.", true),
            ("42", "La risposta è 42.", true),
            ("42", "Het antwoord is 42.", true),
            ("42", "Ответ: 42.", true),
            ("42", "Ответ: 42 рубля", true),
            ("42", "Відповідь: 42", true),
            ("42", "Odpowiedź: 42", true),
            ("42", "Cevap: 42", true),
            ("42", "Jawaban: 42", true),
            ("42", "Đáp án: 42", true),
            ("42", "Câu trả lời là 42.", true),
            ("42", "Jibu ni 42.", true),
            ("42", "答えは42です。", true),
            ("42", "答え：42個", true),
            ("42", "**最終答**: 42人", true),
            ("42", "答案是42。", true),
            ("42", "答案：42", true),
            ("42", "最终答案是 42", true),
            ("42", "答：一共42个。", true),
            ("42", "정답은 42입니다.", true),
            ("42", "คำตอบคือ 42", true),
            ("42", "คำตอบ: 42 บาท", true),
            ("42", "উত্তর: 42", true),
            ("42", "సమాధానం: 42", true),
            ("42", "उत्तर: 42", true),
            ("42", "الإجابة هي 42", true),
            ("42", "Απάντηση: 42", true),
            ("42", "תשובה: 42", true),
            ("42", "Svar: 42", true),
            ("43", "La respuesta es 42.", false),
            ("7", "She has 3 apples. Answer: 3 + 4 = 7 apples.", true),
            ("7", "Réponse : 3 + 4 = 7", true),
            ("120", "Therefore, the volume of $ABCDEFGH$ is $5 \\times 6 \\times 4 = 120$. Final Answer: The volume of $ABCDEFGH$ is 120. I hope it is correct.", true),
            ("34", "Final Answer: The largest $n$ is 34.", true),
            ("1/2", "The answer is $\\frac{1}{2}$.", true),
            ("1/2", "La réponse est \\(\\frac{1}{2}\\).", true),
            ("9", "Answer \\[ 9 \\]", true),
            ("9", "Answer $ 9 $", true),
            ("9", "Answer $$ 9 $$", true),
            ("9", "Answer \\( 9 \\)", true),
            ("10", "Answer \\( (9+1) \\)", true),
            ("48", "合計: 8 + 6 + 6 + 7 + 7 + 7 + 7 = 48時間\n\n**答え**: 48時間", true),
            ("22", "**合計回数**: 4回 + 12回 + 6回 = **22回**\n\n**最終答**: 22回\n\n**注意**: 3倍長く...", true),
            ("694", "したがって、トゥーラが支払った合計金額は**694ドル**です。", true),
            ("57500", "したがって、ジルの年間給料は **57,500ドル** です。", true),
        ],
    );
}

#[test]
fn no_answer_without_fallback() {
    // no box, no cue, no math environment in a long response: no answer by default
    let long = "We start with 16 eggs and use 3 for breakfast and 4 for muffins, leaving some eggs that are sold \
                at the market for two dollars each, which gives the daily income of the farmer after all the \
                calculations are complete 18";
    let v = check("18", long);
    assert!(!v.correct);
    assert_eq!(v.reason, Reason::NoAnswer);
    let cfg = VerifyConfig {
        last_number_fallback: true,
        ..VerifyConfig::default()
    };
    assert!(check_with("18", long, &cfg).correct);
    // but a short bare answer line is an answer
    assert!(check("18", "18 dollars").correct);
    assert!(check("18", "It is 18.").correct);
}

#[test]
fn latex_normalization() {
    run(
        "latex",
        &[
            ("1/3", "$\\left( \\frac{1}{3} \\right)$", true),
            ("1/3", "$\\frac{1}{3} \\text{meters}$", true),
            ("1/3", "$\\frac{1}{3} \\textbf{meters}$", true),
            ("1/3", "$k = \\frac{1}{3}$", true),
            ("1/3", "$ 1/3 $", true),
            ("\\sqrt{3}", "$\\sqrt3 $", true),
            ("10/9", "Answer $ \\frac{1}{2} \\$ = \\frac{10}{9} $", true),
            ("90", "\\boxed{90^\\circ}", true),
            ("90^\\circ", "\\boxed{90}", true),
            ("90^\\circ", "\\boxed{90^{\\circ}}", true),
            ("90", "\\boxed{90°}", true),
            ("15", "$\\boxed{15\\mbox{ cm}^2}$", true),
            ("15\\mbox{ cm}^2", "\\boxed{15}", true),
            ("6", "\\boxed{2 \\cdot 3}", true),
            ("6", "\\boxed{2 \\times 3}", true),
            ("2", "\\boxed{6 \\div 3}", true),
            ("\\pi/2", "\\boxed{\\frac{\\pi}{2}}", true),
            ("2\\pi", "\\boxed{2 \\pi}", true),
            (
                "\\text{Evelyn}",
                "Therefore, $\\boxed{\\text{Evelyn}}$ is our answer.",
                true,
            ),
            ("\\text{Evelyn}", "\\boxed{Evelyn}", true),
            ("\\text{Evelyn}", "\\boxed{Briana}", false),
            ("\\text{(A)}", "\\boxed{(A)}", true),
            ("\\text{E}", "$E$", true),
            ("5", "\\boxed{x = 5}", true),
            ("5", "\\boxed{x=5}.", true),
            ("x=5", "\\boxed{5}", true),
            (
                "9",
                "Then, $129^{34}+96^{38} \\equiv \\boxed{9} \\pmod{11}.$",
                true,
            ),
            ("204_5", "a quotient of $\\boxed{204_5}$.", true),
            ("3\\sqrt{13}", "\\sqrt{117} = \\boxed{3\\sqrt{13}}", true),
            ("2-2p", "Thus $x-p=\\boxed{2-2p}$.", true),
            ("1/3", "$x = 5+5+1 = 1/3 \\approx 11$", true),
            ("1/3", "$x=1/3\\approx1.3$", true),
            ("0", "$1 = \\zzz = x = 0$", true),
        ],
    );
}

#[test]
fn units_and_currency() {
    run(
        "units",
        &[
            ("18", "\\boxed{18} dollars", true),
            ("18", "\\boxed{\\$18}", true),
            ("18", "\\boxed{18\\$}", true),
            ("18", "\\boxed{€18}", true),
            ("18", "\\boxed{18€}", true),
            ("18", "\\boxed{£18.00}", true),
            ("18", "\\boxed{₹18}", true),
            ("18", "\\boxed{18 долларов}", true),
            ("18", "\\boxed{18ドル}", true),
            ("18", "\\boxed{18 บาท}", true),
            ("18", "\\boxed{18 dólares}", true),
            ("5", "\\boxed{5 km/h}", true),
            ("5", "\\boxed{5 \\text{ hours}}", true),
            ("5", "\\boxed{5 \\mathrm{kg}}", true),
            ("12", "\\boxed{12 \\text{ m}^2}", true),
            ("35", "\\boxed{35時間}", true),
            ("15", "\\boxed{15匹}", true),
            ("694", "\\boxed{694\\$}", true),
            ("8", "\\boxed{8年目}", true),
            ("75", "\\boxed{มากกว่า 75}", true),
        ],
    );
}

#[test]
fn symbolic_expressions() {
    run(
        "symbolic",
        &[
            ("(x+1)^2", "\\boxed{x^2+2x+1}", true),
            ("x^2+2x+1", "\\boxed{(x+1)^2}", true),
            ("(x+1)^2", "\\boxed{x^2+2x+2}", false),
            ("\\sqrt{8}", "\\boxed{2\\sqrt{2}}", true),
            ("2\\sqrt{2}", "\\boxed{\\sqrt{8}}", true),
            ("\\sqrt{8}", "\\boxed{3\\sqrt{2}}", false),
            ("\\frac{\\sqrt{3}}{3}", "\\boxed{\\frac{1}{\\sqrt{3}}}", true),
            ("x+1", "\\boxed{y+1}", false),
            ("2x", "\\boxed{x+x}", true),
            ("ab", "\\boxed{ba}", true),
            ("\\frac{x}{2}", "\\boxed{0.5x}", true),
            ("x^2-1", "\\boxed{(x-1)(x+1)}", true),
            ("\\sin^2 x + \\cos^2 x", "\\boxed{1}", true),
            ("2\\sin x \\cos x", "\\boxed{\\sin 2x}", false),
            ("2\\sin x \\cos x", "\\boxed{\\sin(2x)}", true),
            ("e^{2}", "\\boxed{e^2}", true),
            ("\\ln 8", "\\boxed{3\\ln 2}", true),
            ("\\log_2 8", "\\boxed{3}", true),
            ("\\frac{5\\sqrt{42}}{27}", "\\boxed{\\frac{10\\sqrt{10.5}}{27}}", true),
            ("1 - \\frac{1}{e}", "\\boxed{1 - e^{-1}}", true),
            ("4", "$4\\sqrt{2}$", false),
            ("n(n+1)/2", "\\boxed{\\frac{n^2+n}{2}}", true),
            ("\\frac{a+b}{2}", "\\boxed{\\frac{b+a}{2}}", true),
            ("3+4i", "\\boxed{4i+3}", true),
            ("|x-2|", "\\boxed{|2-x|}", true),
            ("\\frac{14}{3}", "$f(-2)+f(-1)+f(0)=\\frac{-8}{-4}+\\frac{-5}{-3}+\\frac{-2}{-2}=2+\\frac{5}{3}+1=\\boxed{\\frac{14}{3}}$", true),
        ],
    );
}

#[test]
fn tuples_sets_intervals() {
    run(
        "collections",
        &[
            ("(1, 2)", "\\boxed{(1,2)}", true),
            ("(1, 2)", "\\boxed{(2,1)}", false),
            ("(3, \\frac{\\pi}{2})", "the polar coordinates are $\\boxed{\\left( 3, \\frac{\\pi}{2} \\right)}.$", true),
            ("(6,31,-1)", "$(p,q,r) = \\boxed{(6,31,-1)}.$", true),
            ("\\{1,2,3\\}", "\\boxed{\\{3,2,1\\}}", true),
            ("\\{1,2,3\\}", "\\boxed{3, 2, 1}", true),
            ("1,2,3", "\\boxed{\\{1,2,3\\}}", true),
            ("-2,1", "we find that the only integer roots are $\\boxed{-2,1}.$", true),
            ("-2,1", "\\boxed{1,-2}", true),
            ("-2,1", "\\boxed{1,2}", false),
            ("[0,1)", "$[0,1)$", true),
            ("$[0,9)$", "$[0,1)$", false),
            ("$(0,9)$", "$[0,9)$", false),
            ("$1$", "$-[0,1)$", false),
            ("(-\\infty, -3] \\cup [2, \\infty)", "\\boxed{(-\\infty,-3]\\cup[2,\\infty)}", true),
            ("(-\\infty, -3] \\cup [2, \\infty)", "\\boxed{[2,\\infty)\\cup(-\\infty,-3]}", true),
            ("(-\\infty, -3] \\cup [2, \\infty)", "\\boxed{(-\\infty,-3)\\cup[2,\\infty)}", false),
            ("[-1, -\\frac{1}{2}) \\cup (-\\frac{1}{2}, 0) \\cup (0, 1) \\cup (1, \\infty)", "The solution set is $\\boxed{[-1, -\\tfrac12) \\cup (-\\tfrac12, 0) \\cup (0, 1) \\cup (1, \\infty)}.$", true),
            ("1 \\pm \\sqrt{19}", "$x = \\boxed{1 \\pm \\sqrt{19}}.$", true),
            ("1 \\pm \\sqrt{19}", "\\boxed{1+\\sqrt{19}, 1-\\sqrt{19}}", true),
            ("(3,1)", "${1,3}$", false),
            ("\\{-1\\} \\cup [0,7)", "x \\in \\boxed{\\{-1\\} \\cup [0,7)}.$", true),
            ("(7,6)", "So the ordered pair $(x, y)$ that solves the system is $(7, 6)$.", true),
            ("\\emptyset", "\\boxed{\\varnothing}", true),
            ("(37,3,3,13),(17,3,3,7)", "\\boxed{(17,3,3,7),(37,3,3,13),(17,3,3,7)}", true),
            ("12, 13", "between $\\boxed{12\\text{ and }13}$.", true),
            ("19, 46, and 82", "$19, 46, \\text{ and } 82$", true),
            ("(11,7) or (7,11)", "$\\boxed{(7,11),\\ (11,7)}$", true),
        ],
    );
}

#[test]
fn relations() {
    run(
        "relations",
        &[
            ("x > 2", "\\boxed{x > 2}", true),
            ("x > 2", "\\boxed{2 < x}", true),
            ("x > 2", "\\boxed{x \\geq 2}", false),
            ("x \\le 3", "\\boxed{3 \\ge x}", true),
            ("x > 2", "\\boxed{(2, \\infty)}", true),
            ("x \\ge 2", "\\boxed{[2, \\infty)}", true),
            ("x \\ge 2", "\\boxed{(2, \\infty)}", false),
            ("-2 \\le x \\le 7", "$x \\in [-2,7]$", true),
            ("1 < x < 2", "\\boxed{(1,2)}", true),
            ("0<f(x)<1", "$(0,1)$", true),
            ("y = 2x + 1", "\\boxed{y - 2x = 1}", true),
            ("y = 2x + 1", "\\boxed{2x + 1 = y}", true),
            ("y = 2x + 1", "\\boxed{2y = 4x + 2}", true),
            ("y = 2x + 1", "\\boxed{y = 2x - 1}", false),
            ("x = 5", "\\boxed{y = 5}", false),
            ("x != 3", "We find that $x \\neq 3$.", true),
            ("x \\neq 5", "The solution is $x != 5$", true),
            ("(p,q)=(3,2)", "$(3,2)$", true),
            ("(p,q,r)=(3,2,7)", "$\\boxed{(3,2,7)}$", true),
            ("S_{MBCN}:S=7:32", "$\\boxed{7:32}$", true),
            ("A:B=1", "$$1$$", true),
        ],
    );
}

#[test]
fn matrices() {
    run(
        "matrices",
        &[
            ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}}", true),
            ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\boxed{\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}}", true),
            ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 & 2 \\\\ 4 & 3 \\end{pmatrix}}", false),
            ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} 1 & 2 & 3 & 4 \\end{pmatrix}}", false),
            ("\\begin{pmatrix} 0.5 \\\\ 2 \\end{pmatrix}", "\\boxed{\\begin{pmatrix} \\frac{1}{2} \\\\ 2 \\end{pmatrix}}", true),
            ("$\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}$", "The sum is $\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}$", true),
            ("$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$", "$\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix} \\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}$", true),
            ("\\begin{pmatrix} 3 \\\\ 2 \\end{pmatrix}", "\\boxed{(3, 2)}", true),
            ("\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}", "\\boxed{\n\\begin{pmatrix} 0 & 3 \\\\ 0 & -1 \\end{pmatrix}\n}.\n\\end{align*}", true),
        ],
    );
}

#[test]
fn last_box_and_answer_part() {
    run(
        "last-box",
        &[
            ("5", "Maybe \\boxed{3}? Let me recheck the whole computation once more carefully. Indeed the result is \\boxed{5}.", true),
            ("3", "Maybe \\boxed{3}? Let me recheck the whole computation once more carefully. Indeed the result is \\boxed{5}.", false),
            ("5", "答案是3。不对，重新计算一下这个问题的每一个步骤，最后得到 \\boxed{5}", true),
            ("5", "La respuesta es 3. Espera, revisemos: en realidad \\boxed{5}", true),
            ("18", "<|im_start|>think\nmaybe 20<|im_end|>\n<|im_start|>answer\nThe answer is \\boxed{18}<|im_end|>", true),
            ("18", "<think>so \\boxed{17}</think>Final: \\boxed{18}", true),
            ("17", "<think>so \\boxed{17}</think>Final: \\boxed{18}", false),
            ("17", "<think>so \\boxed{17}</think>I could not finish.", true),
            ("4", "\\boxed{4} is wrong, the right value is \\boxed{4,00}", true),
        ],
    );
}

#[test]
fn verdict_reasons() {
    assert_eq!(check("5", "\\boxed{5}").reason, Reason::Equal);
    assert_eq!(check("5", "\\boxed{6}").reason, Reason::NotEqual);
    assert_eq!(check("5", "no numbers here at all, just a long sentence that keeps going and going and going and going and going and going and going and going").reason, Reason::NoAnswer);
    assert_eq!(check("", "\\boxed{5}").reason, Reason::NoGold);
    assert_eq!(check("   ", "\\boxed{5}").reason, Reason::NoGold);
    assert_eq!(check("1", "\\boxed{1/0}").reason, Reason::Undefined);
    let v = check("5", "\\boxed{5}");
    assert_eq!(v.extracted.as_deref(), Some("5"));
    assert_eq!(v.normalized.as_deref(), Some("5"));
    let v = check("70000", "\\boxed{70,000 \\text{ dollars}}");
    assert_eq!(v.normalized.as_deref(), Some("70000"));
}

#[test]
fn real_trace_answers() {
    let text = std::fs::read_to_string(
        common::manifest_dir().join("tests/fixtures/verify_trace_cases.jsonl"),
    )
    .expect("fixture");
    let mut n = 0;
    let mut failures = Vec::new();
    for line in text.lines() {
        let r: serde_json::Value = serde_json::from_str(line).expect("json");
        let gold = r["gold"].as_str().unwrap_or_default();
        let resp = r["response"].as_str().unwrap_or_default();
        let expected = r["expected"].as_bool().unwrap_or(false);
        let v = check(gold, resp);
        n += 1;
        if v.correct != expected {
            failures.push(format!(
                "{}:{} gold={gold} expected {expected} got {} ({:?})",
                r["source"], r["line"], v.correct, v.extracted
            ));
        }
    }
    assert!(n >= 60, "fixture too small");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
