//! Localized "reason step by step" instructions. The five training
//! languages use the paper's wording (ADAMAME.md); the others are ours.

/// The instruction for a language, if we have one.
pub fn instruction(lang: &str) -> Option<&'static str> {
    Some(match lang {
        "fr" => "Veuillez raisonner étape par étape et placer votre réponse finale dans \\boxed{}.",
        "ja" => "段階的に考えて、最終的な答えを \\boxed{} の中に入れてください。",
        "ko" => "단계별로 추론하고, 최종 답을 \\boxed{} 안에 넣어주세요.",
        "pt" => "Por favor, justifique passo a passo e coloque a sua resposta final dentro de \\boxed{}.",
        "th" => "กรุณาให้เหตุผลทีละขั้นตอน และใส่คำตอบสุดท้ายของคุณไว้ภายใน \\boxed{}",
        "en" => "Please reason step by step, and put your final answer within \\boxed{}.",
        "zh" => "请逐步推理，并将最终答案放在 \\boxed{} 中。",
        "es" => "Por favor, razona paso a paso y coloca tu respuesta final dentro de \\boxed{}.",
        "de" => "Bitte denke Schritt für Schritt nach und setze deine endgültige Antwort in \\boxed{}.",
        "ru" => "Пожалуйста, рассуждай шаг за шагом и помести окончательный ответ в \\boxed{}.",
        "bn" => "অনুগ্রহ করে ধাপে ধাপে যুক্তি দিন এবং আপনার চূড়ান্ত উত্তর \\boxed{} এর মধ্যে লিখুন।",
        "sw" => "Tafadhali fikiri hatua kwa hatua, na uweke jibu lako la mwisho ndani ya \\boxed{}.",
        "te" => "దయచేసి దశలవారీగా ఆలోచించి, మీ తుది సమాధానాన్ని \\boxed{} లో ఉంచండి.",
        "ar" => "يرجى التفكير خطوة بخطوة، ووضع إجابتك النهائية داخل \\boxed{}.",
        "vi" => "Hãy suy luận từng bước và đặt câu trả lời cuối cùng của bạn trong \\boxed{}.",
        _ => return None,
    })
}

/// The prompt a model is asked: instruction, a blank line, the question.
/// Languages without an instruction of their own get the English one.
pub fn render(lang: &str, question: &str) -> String {
    let instruction = instruction(lang)
        .or_else(|| instruction("en"))
        .unwrap_or_default();
    format!("{instruction}\n\n{question}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_instructions_and_layout() {
        assert_eq!(
            render("pt", "Quanto?"),
            "Por favor, justifique passo a passo e coloque a sua resposta final dentro de \\boxed{}.\n\nQuanto?"
        );
        for lang in [
            "fr", "ja", "ko", "pt", "th", "en", "zh", "es", "de", "ru", "bn", "sw", "te",
        ] {
            assert!(
                instruction(lang).is_some_and(|i| i.contains("\\boxed{}")),
                "{lang}"
            );
        }
        assert!(render("xx", "Q").starts_with("Please reason"));
    }
}
