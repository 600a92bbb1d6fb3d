#!/usr/bin/env python3
"""Generate AdaMame's embedded default corpus: pipeline/corpus/default.jsonl.

What it is
    A small, synthetic, multilingual corpus of *raw generation records* (grade-school
    arithmetic word problems with step-by-step reasoning traces) that
    `adamame-data build` runs on when no `--input` is given.  Every question,
    template, name and trace is written by this script; nothing is copied from any
    dataset.  Licence: Apache-2.0 (our own work, same as the rest of AdaMame).

How to run
    python3 pipeline/corpus/make_corpus.py            # writes default.jsonl next to this file
    python3 pipeline/corpus/make_corpus.py --out X    # writes elsewhere
    python3 pipeline/corpus/make_corpus.py --stats-only
    Python 3.11+, standard library only.  Deterministic: a fixed seed (SEED below)
    and no dependence on hash order, so the output is byte-identical on every run.

Record schema (one JSON object per line, UTF-8, ensure_ascii=False)
    {"id": "fr-0042", "lang": "fr", "question": "...", "gold": "42",
     "candidates": ["<think>\\n...\\n</think>\\n\\nLa réponse est \\\\boxed{42}.", ...]}
    gold is canonical: ASCII digits, '.' as decimal point, no thousands separator,
    no trailing zeros ("4.5", "12.25", "1200").  At most two decimals.

Languages: en fr ja ko pt th, QUESTIONS_PER_LANG questions each, 1-3 candidates each.

Candidate kinds (exact counts are printed at the end of a run; see README.md)
    good        in-language trace, </think>, in-language answer line with \\boxed{gold}
    collapse    reasoning in English, answer line in the query language (non-en only)
    codeswitch  in-language trace with one or two English lines (non-en only)
    wrong       arithmetic slip in the last step; \\boxed holds the wrong value
    nobox       correct answer stated without \\boxed
    truncated   trace cut mid-sentence: no </think>, no answer
    nothink     no <think> tags; the answer line follows the last blank line
    Record-level: exact duplicates (verbatim copy of an earlier line, same id) and
    near-duplicates (new id, same question, one candidate whose reasoning differs
    from an earlier candidate of that question by one word).

Formatting variety inside otherwise good candidates: LaTeX \\( ... \\) arithmetic,
`## ` prefixes on some lines, localized numbers in \\boxed (fr "4,5" / "1 200",
pt "4,5", en/ja/ko/th "1,200"), Thai digits in some Thai traces (boxed stays ASCII).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from fractions import Fraction as F

SEED = 20240611
QUESTIONS_PER_LANG = 450
LANGS = ["en", "fr", "ja", "ko", "pt", "th"]
CURRENCY = {"en": "USD", "fr": "EUR", "pt": "BRL", "ja": "JPY", "ko": "KRW", "th": "THB"}

# Share of candidates (of the non-duplicate records) per defect kind; the rest is "good".
DEFECT_RATES = {
    "default": {"collapse": 0.12, "codeswitch": 0.06, "wrong": 0.10, "nobox": 0.05,
                "truncated": 0.05, "nothink": 0.03},
    # English: collapse / code-switch into English do not apply; other defects instead.
    "en": {"wrong": 0.16, "nobox": 0.09, "truncated": 0.09, "nothink": 0.06},
}
EXACT_DUP_RATE = 0.03  # of records
NEAR_DUP_RATE = 0.02  # of records
CANDIDATES_PER_RECORD = [(1, 0.45), (2, 0.35), (3, 0.20)]

# ---------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------

NAMES = {  # (native, romanized) -- romanized form is used in English reasoning
    "en": [(n, n) for n in ["Emma", "Liam", "Olivia", "Noah", "Ava", "Jack", "Mia", "Ben"]],
    "fr": [(n, n) for n in ["Léa", "Hugo", "Chloé", "Lucas", "Manon", "Louis", "Camille", "Jules"]],
    "pt": [(n, n) for n in ["Ana", "João", "Maria", "Pedro", "Beatriz", "Lucas", "Júlia", "Rafael"]],
    "ja": [("ゆい", "Yui"), ("はると", "Haruto"), ("さくら", "Sakura"), ("そうた", "Sota"),
           ("あおい", "Aoi"), ("ひなた", "Hinata"), ("りく", "Riku"), ("めい", "Mei")],
    "ko": [("민수", "Minsu"), ("지훈", "Jihun"), ("서연", "Seoyeon"), ("하은", "Haeun"),
           ("도윤", "Doyun"), ("수아", "Sua"), ("지우", "Jiu"), ("예준", "Yejun")],
    "th": [("มานี", "Manee"), ("มานะ", "Mana"), ("ปิติ", "Piti"), ("ชูใจ", "Chujai"),
           ("วีระ", "Weera"), ("สุดา", "Suda"), ("นภา", "Napa"), ("ก้อง", "Kong")],
}

# Things bought / packed in boxes.  en: (sg, pl); fr: (pl, "de" form, "les" form);
# pt: (sg, pl, Quantos/Quantas); ja/ko/th: (noun, counter/classifier).
GOODS = [
    {"en": ("apple", "apples"), "fr": ("pommes", "de pommes", "les pommes"),
     "pt": ("maçã", "maçãs", "Quantas"), "ja": ("りんご", "個"), "ko": ("사과", "개"), "th": ("แอปเปิล", "ลูก")},
    {"en": ("pencil", "pencils"), "fr": ("crayons", "de crayons", "les crayons"),
     "pt": ("lápis", "lápis", "Quantos"), "ja": ("えんぴつ", "本"), "ko": ("연필", "자루"), "th": ("ดินสอ", "แท่ง")},
    {"en": ("notebook", "notebooks"), "fr": ("cahiers", "de cahiers", "les cahiers"),
     "pt": ("caderno", "cadernos", "Quantos"), "ja": ("ノート", "冊"), "ko": ("공책", "권"), "th": ("สมุด", "เล่ม")},
    {"en": ("bread roll", "bread rolls"), "fr": ("petits pains", "de petits pains", "les petits pains"),
     "pt": ("pão", "pães", "Quantos"), "ja": ("パン", "個"), "ko": ("빵", "개"), "th": ("ขนมปัง", "ชิ้น")},
    {"en": ("eraser", "erasers"), "fr": ("gommes", "de gommes", "les gommes"),
     "pt": ("borracha", "borrachas", "Quantas"), "ja": ("消しゴム", "個"), "ko": ("지우개", "개"), "th": ("ยางลบ", "ก้อน")},
    {"en": ("orange", "oranges"), "fr": ("oranges", "d'oranges", "les oranges"),
     "pt": ("laranja", "laranjas", "Quantas"), "ja": ("みかん", "個"), "ko": ("귤", "개"), "th": ("ส้ม", "ลูก")},
]
# Things collected (sums and differences).
COLLECT = [
    {"en": ("marble", "marbles"), "fr": ("billes", "de billes", "les billes"),
     "pt": ("bolinha", "bolinhas", "Quantas"), "ja": ("ビー玉", "個"), "ko": ("구슬", "개"), "th": ("ลูกแก้ว", "ลูก")},
    {"en": ("sticker", "stickers"), "fr": ("autocollants", "d'autocollants", "les autocollants"),
     "pt": ("figurinha", "figurinhas", "Quantas"), "ja": ("シール", "枚"), "ko": ("스티커", "장"), "th": ("สติกเกอร์", "แผ่น")},
    {"en": ("card", "cards"), "fr": ("cartes", "de cartes", "les cartes"),
     "pt": ("carta", "cartas", "Quantas"), "ja": ("カード", "枚"), "ko": ("카드", "장"), "th": ("การ์ด", "ใบ")},
]
# Things on sale (percent discount).  fr/pt carry their article.
ITEMS = [
    {"en": "bike", "fr": "Un vélo", "pt": "Uma bicicleta", "ja": "自転車", "ko": "자전거", "th": "จักรยาน"},
    {"en": "backpack", "fr": "Un sac à dos", "pt": "Uma mochila", "ja": "かばん", "ko": "가방", "th": "กระเป๋า"},
    {"en": "coat", "fr": "Un manteau", "pt": "Um casaco", "ja": "コート", "ko": "코트", "th": "เสื้อโค้ท"},
]

# ---------------------------------------------------------------------------
# Question / reasoning templates, written natively per language.
# Each variant: (question, [reasoning lines]).  {e0}/{e1} are arithmetic
# expressions ("3 × 4 = 12"); other fields are formatted numbers and words.
# ---------------------------------------------------------------------------

TEXT = {
    "en": {
        "buy_a": ("{A} buys {n} {obj} at {P} each. How much does {A} pay in total?",
                  ["Each one costs {P}.", "Total: {e0}.", "So the total is {T}."]),
        "buy_b": ("At the market, one {obj_sg} costs {P}. How much do {n} {obj} cost?",
                  ["Each one costs {P}.", "Total: {e0}.", "So the total is {T}."]),
        "change": ("{A} has {M}. {A} buys {n} {obj} at {P} each. How much money is left?",
                   ["Cost: {e0}.", "Left: {e1}.", "So {R} is left."]),
        "share_candy": ("{A} has {T} candies and shares them equally among {k} friends. How many candies does each friend get?",
                        ["Share {T} candies among {k} friends.", "{e0}", "So each friend gets {Q} candies."]),
        "share_money": ("{k} friends share {TM} equally. How much does each friend get?",
                        ["Split {TM} into {k} equal parts.", "{e0}", "So each friend gets {QM}."]),
        "share_juice": ("There are {T} liters of juice. {k} children share it equally. How many liters does each child get?",
                        ["Share {T} liters among {k} children.", "{e0}", "So each child gets {Q} {L_Q}."]),
        "speed_train": ("A train travels at {v} km/h for {t} hours. How far does it go?",
                        ["Distance = speed × time.", "{e0}", "So the distance is {D} km."]),
        "speed_car": ("A car travels at {v} km/h for {t} hours. How far does it go?",
                      ["Distance = speed × time.", "{e0}", "So the distance is {D} km."]),
        "ages": ("{A} is {a} years old. {A}'s mother is {k} times as old. How old will the mother be in {y} years?",
                 ["Mother's age now: {e0}.", "In {y} years: {e1}.", "So the mother will be {G} years old."]),
        "sumdiff": ("{A} has {a} {obj}. {A} wins {b} more and then loses {cc}. How many {obj} does {A} have now?",
                    ["After winning: {e0}.", "After losing: {e1}.", "So {A} has {G} {obj}."]),
        "mult": ("There are {b} {obj} in each box. How many {obj} are there in {n} boxes?",
                 ["{n} boxes with {b} {obj} each.", "{e0}", "So there are {G} {obj}."]),
        "discount": ("A {item} costs {P}. The shop gives a {r}% discount. What is the new price?",
                     ["Discount: {e0}.", "New price: {e1}.", "So the new price is {G}."]),
        "pct_class": ("A class has {n} students. {r}% of them are girls. How many girls are there?",
                      ["{r}% of {n}: {e0}.", "So there are {G} girls."]),
        "pct_school": ("A school has {n} students. {r}% of them walk to school. How many students walk to school?",
                       ["{r}% of {n}: {e0}.", "So {G} students walk to school."]),
        "dec_money": ("A juice costs {P}. {A} buys {n} juices. How much does {A} pay?",
                      ["One juice costs {P}.", "{e0}", "So {A} pays {T}."]),
        "dec_water": ("A bottle holds {p} liters of water. How many liters of water are in {n} bottles?",
                      ["{n} bottles of {p} liters.", "{e0}", "So there are {T} liters of water."]),
    },
    "fr": {
        "buy_a": ("{A} achète {n} {obj} à {P} pièce. Combien doit payer {A} au total ?",
                  ["Prix d'un article : {P}.", "Total : {e0}.", "Donc le total est de {T}."]),
        "buy_b": ("Au marché, {les_obj} coûtent {P} pièce. Combien coûtent {n} {obj} ?",
                  ["Prix d'un article : {P}.", "Total : {e0}.", "Donc le total est de {T}."]),
        "change": ("{A} a {M}. {A} achète {n} {obj} à {P} pièce. Combien d'argent reste-t-il à {A} ?",
                   ["Prix des {obj} : {e0}.", "Reste : {e1}.", "Donc il reste {R}."]),
        "share_candy": ("{A} a {T} bonbons et les partage équitablement entre {k} amis. Combien de bonbons reçoit chaque ami ?",
                        ["On partage {T} bonbons entre {k} amis.", "{e0}", "Donc chaque ami reçoit {Q} bonbons."]),
        "share_money": ("{k} amis se partagent {TM} à parts égales. Combien reçoit chacun ?",
                        ["On divise {TM} en {k} parts égales.", "{e0}", "Donc chacun reçoit {QM}."]),
        "share_juice": ("Il y a {T} litres de jus. {k} enfants se partagent ce jus à parts égales. Combien de litres reçoit chaque enfant ?",
                        ["On partage {T} litres entre {k} enfants.", "{e0}", "Donc chaque enfant reçoit {Q} {L_Q}."]),
        "speed_train": ("Un train roule à {v} km/h pendant {t} heures. Quelle distance parcourt-il ?",
                        ["Distance = vitesse × temps.", "{e0}", "Donc la distance est de {D} km."]),
        "speed_car": ("Une voiture roule à {v} km/h pendant {t} heures. Quelle distance parcourt-elle ?",
                      ["Distance = vitesse × temps.", "{e0}", "Donc la distance est de {D} km."]),
        "ages": ("{A} a {a} ans. Sa mère a {k} fois son âge. Quel âge aura sa mère dans {y} ans ?",
                 ["Âge de la mère aujourd'hui : {e0}.", "Dans {y} ans : {e1}.", "Donc elle aura {G} ans."]),
        "sumdiff": ("{A} a {a} {obj}. {A} en gagne {b}, puis en perd {cc}. Combien {de_obj} a {A} maintenant ?",
                    ["Après le gain : {e0}.", "Après la perte : {e1}.", "Donc {A} a {G} {obj}."]),
        "mult": ("Une boîte contient {b} {obj}. Combien y a-t-il {de_obj} dans {n} boîtes ?",
                 ["{n} boîtes de {b} {obj}.", "{e0}", "Donc il y a {G} {obj}."]),
        "discount": ("{item} coûte {P}. Le magasin fait une remise de {r} %. Quel est le nouveau prix ?",
                     ["Remise : {e0}.", "Nouveau prix : {e1}.", "Donc le nouveau prix est de {G}."]),
        "pct_class": ("Dans une classe de {n} élèves, {r} % sont des filles. Combien y a-t-il de filles ?",
                      ["{r} % de {n} : {e0}.", "Donc il y a {G} filles."]),
        "pct_school": ("Dans une école de {n} élèves, {r} % viennent à pied. Combien d'élèves viennent à pied ?",
                       ["{r} % de {n} : {e0}.", "Donc {G} élèves viennent à pied."]),
        "dec_money": ("Un jus coûte {P}. {A} en achète {n}. Combien doit payer {A} ?",
                      ["Un jus coûte {P}.", "{e0}", "Donc {A} paie {T}."]),
        "dec_water": ("Une bouteille contient {p} {L_p} d'eau. Combien de litres d'eau y a-t-il dans {n} bouteilles ?",
                      ["{n} bouteilles de {p} {L_p}.", "{e0}", "Donc il y a {T} {L_T} d'eau."]),
    },
    "pt": {
        "buy_a": ("{A} compra {n} {obj} por {P} cada. Quanto {A} paga no total?",
                  ["Cada unidade custa {P}.", "Total: {e0}.", "Logo, o total é {T}."]),
        "buy_b": ("Na feira, cada {obj_sg} custa {P}. Quanto custam {n} {obj}?",
                  ["Cada unidade custa {P}.", "Total: {e0}.", "Logo, o total é {T}."]),
        "change": ("{A} tem {M}. Compra {n} {obj} por {P} cada. Quanto dinheiro sobra?",
                   ["Custo: {e0}.", "Sobra: {e1}.", "Logo, sobram {R}."]),
        "share_candy": ("{A} tem {T} balas e vai dividir igualmente entre {k} amigos. Quantas balas cada amigo recebe?",
                        ["Dividimos {T} balas entre {k} amigos.", "{e0}", "Logo, cada amigo recebe {Q} balas."]),
        "share_money": ("{k} amigos dividem {TM} igualmente. Quanto cada um recebe?",
                        ["Dividimos {TM} em {k} partes iguais.", "{e0}", "Logo, cada um recebe {QM}."]),
        "share_juice": ("Há {T} litros de suco para dividir igualmente entre {k} crianças. Quantos litros cada criança recebe?",
                        ["Dividimos {T} litros entre {k} crianças.", "{e0}", "Logo, cada criança recebe {Q} {L_Q}."]),
        "speed_train": ("Um trem viaja a {v} km/h durante {t} horas. Que distância ele percorre?",
                        ["Distância = velocidade × tempo.", "{e0}", "Logo, a distância é {D} km."]),
        "speed_car": ("Um carro viaja a {v} km/h durante {t} horas. Que distância ele percorre?",
                      ["Distância = velocidade × tempo.", "{e0}", "Logo, a distância é {D} km."]),
        "ages": ("{A} tem {a} anos. A mãe de {A} tem {k} vezes essa idade. Quantos anos a mãe terá daqui a {y} anos?",
                 ["Idade da mãe hoje: {e0}.", "Daqui a {y} anos: {e1}.", "Logo, a mãe terá {G} anos."]),
        "sumdiff": ("{A} tem {a} {obj}. Ganha mais {b} e depois perde {cc}. {qt} {obj} {A} tem agora?",
                    ["Depois de ganhar: {e0}.", "Depois de perder: {e1}.", "Logo, {A} tem {G} {obj}."]),
        "mult": ("Uma caixa tem {b} {obj}. {qt} {obj} há em {n} caixas?",
                 ["São {n} caixas com {b} {obj} cada.", "{e0}", "Logo, há {G} {obj}."]),
        "discount": ("{item} custa {P}. A loja dá um desconto de {r}%. Qual é o novo preço?",
                     ["Desconto: {e0}.", "Novo preço: {e1}.", "Logo, o novo preço é {G}."]),
        "pct_class": ("Uma turma tem {n} alunos. Desses, {r}% são meninas. Quantas meninas há na turma?",
                      ["{r}% de {n}: {e0}.", "Logo, há {G} meninas na turma."]),
        "pct_school": ("Uma escola tem {n} alunos. Desses, {r}% vão a pé para a escola. Quantos alunos vão a pé?",
                       ["{r}% de {n}: {e0}.", "Logo, {G} alunos vão a pé."]),
        "dec_money": ("Um suco custa {P}. {A} compra {n} sucos. Quanto {A} paga?",
                      ["Um suco custa {P}.", "{e0}", "Logo, {A} paga {T}."]),
        "dec_water": ("Uma garrafa tem {p} {L_p} de água. Quantos litros há em {n} garrafas?",
                      ["São {n} garrafas de {p} {L_p}.", "{e0}", "Logo, há {T} {L_T} de água."]),
    },
    "ja": {
        "buy_a": ("{A}さんは1{ct}{P}の{obj}を{n}{ct}買いました。全部でいくらですか。",
                  ["{obj}は1{ct}{P}です。", "{e0}", "よって、全部で{T}です。"]),
        "buy_b": ("{obj}は1{ct}{P}です。{n}{ct}買うと、いくらになりますか。",
                  ["{obj}は1{ct}{P}です。", "{e0}", "よって、全部で{T}です。"]),
        "change": ("{A}さんは{M}持っています。1{ct}{P}の{obj}を{n}{ct}買いました。残りはいくらですか。",
                   ["代金：{e0}", "残り：{e1}", "よって、残りは{R}です。"]),
        "share_candy": ("{A}さんはあめを{T}個持っています。{k}人で同じ数ずつ分けると、1人何個になりますか。",
                        ["{T}個を{k}人で分けます。", "{e0}", "よって、1人{Q}個です。"]),
        "share_juice": ("ジュースが{T}リットルあります。{k}人で同じ量ずつ分けると、1人何リットルになりますか。",
                        ["{T}リットルを{k}人で分けます。", "{e0}", "よって、1人{Q}リットルです。"]),
        "speed_train": ("電車が時速{v}kmで{t}時間走りました。何km進みましたか。",
                        ["道のり = 速さ × 時間", "{e0}", "よって、{D}km進みました。"]),
        "speed_car": ("車が時速{v}kmで{t}時間走りました。何km進みましたか。",
                      ["道のり = 速さ × 時間", "{e0}", "よって、{D}km進みました。"]),
        "ages": ("{A}さんは{a}歳です。お母さんの年齢は{A}さんの{k}倍です。{y}年後、お母さんは何歳になりますか。",
                 ["今のお母さんの年齢：{e0}", "{y}年後：{e1}", "よって、お母さんは{G}歳になります。"]),
        "sumdiff": ("{A}さんは{obj}を{a}{ct}持っています。{b}{ct}もらって、弟に{cc}{ct}あげました。今、{obj}は何{ct}ありますか。",
                    ["もらった後：{e0}", "あげた後：{e1}", "よって、{obj}は{G}{ct}です。"]),
        "mult": ("1箱に{obj}が{b}{ct}入っています。{n}箱では、{obj}は全部で何{ct}ですか。",
                 ["1箱{b}{ct}で、{n}箱あります。", "{e0}", "よって、全部で{G}{ct}です。"]),
        "discount": ("{P}の{item}が{r}%引きで売られています。値段はいくらになりますか。",
                     ["値引き：{e0}", "新しい値段：{e1}", "よって、値段は{G}になります。"]),
        "pct_class": ("クラスに生徒が{n}人います。そのうち{r}%が女子です。女子は何人ですか。",
                      ["{n}人の{r}%：{e0}", "よって、女子は{G}人です。"]),
        "pct_school": ("ある学校に生徒が{n}人います。そのうち{r}%が歩いて通学しています。歩いて通学している生徒は何人ですか。",
                       ["{n}人の{r}%：{e0}", "よって、{G}人です。"]),
        "dec_water": ("{A}さんは1本{p}リットル入りの水を{n}本買いました。水は全部で何リットルですか。",
                      ["1本{p}リットルが{n}本です。", "{e0}", "よって、全部で{T}リットルです。"]),
    },
    "ko": {
        "buy_a": ("{A_i} 한 {ct}에 {P}인 {obj_ul} {n}{ct} 샀습니다. 모두 얼마를 냈습니까?",
                  ["{obj} 한 {ct}의 값은 {P}입니다.", "{e0}", "따라서 모두 {T}입니다."]),
        "buy_b": ("{obj_un} 한 {ct}에 {P}입니다. {n}{ct_ul} 사면 얼마입니까?",
                  ["{obj} 한 {ct}의 값은 {P}입니다.", "{e0}", "따라서 모두 {T}입니다."]),
        "change": ("{A_un} {M}을 가지고 있습니다. 한 {ct}에 {P}인 {obj_ul} {n}{ct} 샀습니다. 남은 돈은 얼마입니까?",
                   ["{obj} 값: {e0}", "남은 돈: {e1}", "따라서 {R}이 남았습니다."]),
        "share_candy": ("{A_un} 사탕 {T}개를 친구 {k}명에게 똑같이 나누어 주었습니다. 한 명이 몇 개씩 받았습니까?",
                        ["사탕 {T}개를 {k}명에게 나눕니다.", "{e0}", "따라서 한 명이 {Q}개씩 받았습니다."]),
        "share_juice": ("주스 {T}리터를 {k}명이 똑같이 나누어 마셨습니다. 한 명이 몇 리터씩 마셨습니까?",
                        ["주스 {T}리터를 {k}명이 나눕니다.", "{e0}", "따라서 한 명이 {Q}리터씩 마셨습니다."]),
        "speed_train": ("기차가 시속 {v}km로 {t}시간 동안 달렸습니다. 기차가 달린 거리는 몇 km입니까?",
                        ["거리 = 속력 × 시간", "{e0}", "따라서 {D}km를 달렸습니다."]),
        "speed_car": ("자동차가 시속 {v}km로 {t}시간 동안 달렸습니다. 자동차가 달린 거리는 몇 km입니까?",
                      ["거리 = 속력 × 시간", "{e0}", "따라서 {D}km를 달렸습니다."]),
        "ages": ("{A_un} {a}살입니다. 어머니의 나이는 {A}의 나이의 {k}배입니다. {y}년 후에 어머니는 몇 살이 됩니까?",
                 ["지금 어머니의 나이: {e0}", "{y}년 후: {e1}", "따라서 어머니는 {G}살이 됩니다."]),
        "sumdiff": ("{A_un} {obj_ul} {a}{ct} 가지고 있습니다. {b}{ct_ul} 더 받고, 동생에게 {cc}{ct_ul} 주었습니다. 지금 {obj_un} 몇 {ct}입니까?",
                    ["받은 후: {e0}", "준 후: {e1}", "따라서 {obj_un} {G}{ct}입니다."]),
        "mult": ("한 상자에 {obj_i} {b}{ct}씩 들어 있습니다. {n}상자에 들어 있는 {obj_un} 모두 몇 {ct}입니까?",
                 ["{b}{ct}씩 {n}상자입니다.", "{e0}", "따라서 모두 {G}{ct}입니다."]),
        "discount": ("{P}짜리 {item_ul} {r}% 할인하여 팝니다. 할인된 가격은 얼마입니까?",
                     ["할인 금액: {e0}", "할인된 가격: {e1}", "따라서 할인된 가격은 {G}입니다."]),
        "pct_class": ("한 반에 학생이 {n}명 있습니다. 그중 {r}%가 여학생입니다. 여학생은 몇 명입니까?",
                      ["{n}명의 {r}%: {e0}", "따라서 여학생은 {G}명입니다."]),
        "pct_school": ("어느 학교에 학생이 {n}명 있습니다. 그중 {r}%가 걸어서 학교에 옵니다. 걸어서 오는 학생은 몇 명입니까?",
                       ["{n}명의 {r}%: {e0}", "따라서 걸어서 오는 학생은 {G}명입니다."]),
        "dec_water": ("{A_i} 물을 {n}병 샀습니다. 한 병에 물이 {p}리터씩 들어 있습니다. 물은 모두 몇 리터입니까?",
                      ["한 병에 {p}리터씩 {n}병입니다.", "{e0}", "따라서 물은 모두 {T}리터입니다."]),
    },
    "th": {
        "buy_a": ("{A}ซื้อ{obj} {n} {ct} ราคา{ct}ละ {P} {A}ต้องจ่ายเงินทั้งหมดกี่บาท",
                  ["{obj}ราคา{ct}ละ {P}", "{e0}", "ดังนั้น ต้องจ่ายเงินทั้งหมด {T}"]),
        "buy_b": ("{obj}ราคา{ct}ละ {P} ถ้าซื้อ {n} {ct} ต้องจ่ายเงินกี่บาท",
                  ["{obj}ราคา{ct}ละ {P}", "{e0}", "ดังนั้น ต้องจ่ายเงินทั้งหมด {T}"]),
        "change": ("{A}มีเงิน {M} ซื้อ{obj} {n} {ct} ราคา{ct}ละ {P} {A}จะเหลือเงินกี่บาท",
                   ["ค่า{obj}: {e0}", "เงินที่เหลือ: {e1}", "ดังนั้น {A}เหลือเงิน {R}"]),
        "share_candy": ("{A}มีลูกอม {T} เม็ด แบ่งให้เพื่อน {k} คน คนละเท่า ๆ กัน เพื่อนจะได้ลูกอมคนละกี่เม็ด",
                        ["แบ่งลูกอม {T} เม็ด ให้เพื่อน {k} คน", "{e0}", "ดังนั้น เพื่อนได้ลูกอมคนละ {Q} เม็ด"]),
        "share_juice": ("มีน้ำผลไม้ {T} ลิตร แบ่งให้ {k} คน คนละเท่า ๆ กัน แต่ละคนจะได้น้ำผลไม้กี่ลิตร",
                        ["แบ่งน้ำผลไม้ {T} ลิตร ให้ {k} คน", "{e0}", "ดังนั้น ได้คนละ {Q} ลิตร"]),
        "speed_train": ("รถไฟวิ่งด้วยความเร็ว {v} กิโลเมตรต่อชั่วโมง เป็นเวลา {t} ชั่วโมง รถไฟวิ่งได้ระยะทางกี่กิโลเมตร",
                        ["ระยะทาง = ความเร็ว × เวลา", "{e0}", "ดังนั้น ระยะทางคือ {D} กิโลเมตร"]),
        "speed_car": ("รถยนต์วิ่งด้วยความเร็ว {v} กิโลเมตรต่อชั่วโมง เป็นเวลา {t} ชั่วโมง รถยนต์วิ่งได้ระยะทางกี่กิโลเมตร",
                      ["ระยะทาง = ความเร็ว × เวลา", "{e0}", "ดังนั้น ระยะทางคือ {D} กิโลเมตร"]),
        "ages": ("{A}อายุ {a} ปี แม่ของ{A}อายุเป็น {k} เท่าของอายุ{A} อีก {y} ปี แม่จะอายุกี่ปี",
                 ["อายุของแม่ตอนนี้: {e0}", "อีก {y} ปี: {e1}", "ดังนั้น แม่จะอายุ {G} ปี"]),
        "sumdiff": ("{A}มี{obj} {a} {ct} ได้มาอีก {b} {ct} แล้วให้น้อง {cc} {ct} ตอนนี้{A}มี{obj}กี่{ct}",
                    ["หลังจากได้มา: {e0}", "หลังจากให้น้อง: {e1}", "ดังนั้น {A}มี{obj} {G} {ct}"]),
        "mult": ("กล่องหนึ่งมี{obj} {b} {ct} ถ้ามี {n} กล่อง จะมี{obj}ทั้งหมดกี่{ct}",
                 ["มี {n} กล่อง กล่องละ {b} {ct}", "{e0}", "ดังนั้น มี{obj}ทั้งหมด {G} {ct}"]),
        "discount": ("{item}ราคา {P} ร้านลดราคาให้ {r}% {item}จะเหลือราคากี่บาท",
                     ["ส่วนลด: {e0}", "ราคาใหม่: {e1}", "ดังนั้น ราคาใหม่คือ {G}"]),
        "pct_class": ("ห้องเรียนหนึ่งมีนักเรียน {n} คน เป็นนักเรียนหญิง {r}% มีนักเรียนหญิงกี่คน",
                      ["{r}% ของ {n} คน: {e0}", "ดังนั้น มีนักเรียนหญิง {G} คน"]),
        "pct_school": ("โรงเรียนแห่งหนึ่งมีนักเรียน {n} คน ในจำนวนนี้ {r}% เดินมาโรงเรียน มีนักเรียนที่เดินมาโรงเรียนกี่คน",
                       ["{r}% ของ {n} คน: {e0}", "ดังนั้น มีนักเรียนเดินมาโรงเรียน {G} คน"]),
        "dec_water": ("น้ำดื่มขวดละ {p} ลิตร {A}ซื้อมา {n} ขวด {A}มีน้ำดื่มทั้งหมดกี่ลิตร",
                      ["ขวดละ {p} ลิตร จำนวน {n} ขวด", "{e0}", "ดังนั้น มีน้ำดื่มทั้งหมด {T} ลิตร"]),
    },
}

ANSWER = {  # final line after </think>; {B} is the boxed value
    "en": ["The answer is \\boxed{B}.", "Final answer: \\boxed{B}"],
    "fr": ["La réponse est \\boxed{B}.", "Réponse finale : \\boxed{B}"],
    "pt": ["A resposta é \\boxed{B}.", "Resposta final: \\boxed{B}"],
    "ja": ["答えは \\boxed{B} です。", "答え：\\boxed{B}"],
    "ko": ["답은 \\boxed{B}입니다.", "정답: \\boxed{B}"],
    "th": ["คำตอบคือ \\boxed{B}", "ดังนั้น คำตอบคือ \\boxed{B}"],
}
ANSWER_NOBOX = {
    "en": ["The answer is {B}.", "Answer: {B}"],
    "fr": ["La réponse est {B}.", "Réponse : {B}"],
    "pt": ["A resposta é {B}.", "Resposta: {B}"],
    "ja": ["答えは {B} です。", "答え：{B}"],
    "ko": ["답은 {B}입니다.", "정답: {B}"],
    "th": ["คำตอบคือ {B}", "ตอบ {B}"],
}
# English self-talk inserted by code-switching candidates.
EN_ASIDES = ["Let me check: {elast}.", "Wait, let me double-check the numbers.", "OK, that looks right."]
# Near-duplicates: one word of the reasoning swapped for a synonym.
NEAR_SWAP = {"en": ("So ", "Thus "), "fr": ("Donc ", "Ainsi "), "pt": ("Logo,", "Portanto,"),
             "ja": ("よって、", "したがって、"), "ko": ("따라서 ", "그러므로 "), "th": ("ดังนั้น", "เพราะฉะนั้น")}

TEMPLATES = ["buy", "change", "share", "speed", "ages", "sumdiff", "mult", "discount", "pct", "dec"]
VARIANTS = {
    "buy": ["buy_a", "buy_b"], "change": ["change"],
    "share": ["share_candy", "share_money", "share_juice"], "speed": ["speed_train", "speed_car"],
    "ages": ["ages"], "sumdiff": ["sumdiff"], "mult": ["mult"], "discount": ["discount"],
    "pct": ["pct_class", "pct_school"], "dec": ["dec_money", "dec_water"],
}

# ---------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------

THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def canon(x: F) -> str:
    """Canonical gold string: '42', '4.5', '12.25'."""
    assert (x * 100).denominator == 1, x
    if x.denominator == 1:
        return str(x.numerator)
    cents = int(x * 100)
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    s = f"{sign}{cents // 100}.{cents % 100:02d}"
    return s.rstrip("0")


def group(int_digits: str, sep: str) -> str:
    out = []
    while len(int_digits) > 3:
        out.insert(0, int_digits[-3:])
        int_digits = int_digits[:-3]
    out.insert(0, int_digits)
    return sep.join(out)


THOUSANDS = {"en": ",", "ja": ",", "ko": ",", "th": ",", "fr": " ", "pt": "."}
DECIMAL = {"en": ".", "ja": ".", "ko": ".", "th": ".", "fr": ",", "pt": ","}


def fmt(x: F, lang: str, thousands: bool = True, cents: bool = False) -> str:
    s = canon(x)
    ip, _, dp = s.partition(".")
    if cents and dp:
        dp = dp.ljust(2, "0")
    if thousands and len(ip) >= 4:
        ip = group(ip, THOUSANDS[lang])
    return ip + (DECIMAL[lang] + dp if dp else "")


def money(x: F, cur: str, lang: str) -> str:
    n = fmt(x, lang, thousands=True, cents=True)
    if lang == "en":
        return {"USD": "$" + n, "EUR": "€" + n, "BRL": "R$" + n, "JPY": n + " yen",
                "KRW": n + " won", "THB": n + " baht"}[cur]
    return {"fr": n + " €", "pt": "R$ " + n, "ja": n + "円", "ko": n + "원", "th": n + " บาท"}[lang]


def expr(tokens, lang: str, latex: bool) -> str:
    """tokens: [a, op, b, (op, c)..., result] -> 'a × b = r' or '\\(a \\times b = r\\)'."""
    *lhs, res = tokens
    parts = []
    for t in lhs:
        if isinstance(t, F):
            parts.append(canon(t) if latex else fmt(t, lang, thousands=False))
        else:
            parts.append({"×": "\\times", "÷": "\\div"}.get(t, t) if latex else t)
    r = canon(res) if latex else fmt(res, lang, thousands=False)
    body = " ".join(parts) + " = " + r
    return "\\(" + body + "\\)" if latex else body


# ---------------------------------------------------------------------------
# Korean particles
# ---------------------------------------------------------------------------

def batchim(word: str) -> bool:
    c = word[-1]
    if "가" <= c <= "힣":
        return (ord(c) - 0xAC00) % 28 != 0
    return False


def josa(word: str, with_b: str, without_b: str) -> str:
    return word + (with_b if batchim(word) else without_b)


# ---------------------------------------------------------------------------
# Scenarios
# ---------------------------------------------------------------------------

UNIT_PRICE = {"USD": (1, 6, 1), "EUR": (1, 6, 1), "BRL": (2, 13, 1), "JPY": (50, 260, 10),
              "KRW": (300, 2100, 100), "THB": (5, 35, 5)}
WALLET = {"USD": [20, 50], "EUR": [20, 50], "BRL": [50, 100], "JPY": [1000, 2000],
          "KRW": [10000, 20000], "THB": [200, 500]}
BIG_PRICE = {"USD": (20, 210, 10), "EUR": (20, 210, 10), "BRL": (50, 510, 10), "JPY": (1000, 20500, 500),
             "KRW": (10000, 205000, 5000), "THB": (200, 3100, 100)}
CENT_PRICE = {"USD": ["0.5", "1.25", "1.5", "1.75", "2.5", "2.25", "3.5"],
              "EUR": ["0.5", "1.25", "1.5", "1.75", "2.5", "2.25", "3.5"],
              "BRL": ["2.5", "3.5", "4.5", "5.25", "6.5", "4.75"]}
PCTS = [10, 15, 20, 25, 30, 40, 50, 60, 75]


def rrange(rng, spec):
    lo, hi, step = spec
    return F(rng.randrange(lo, hi, step))


def make_scenario(rng: random.Random, lang: str, tpl: str) -> dict:
    cur = CURRENCY[lang]
    variants = [v for v in VARIANTS[tpl] if v in TEXT[lang]]
    var = rng.choice(variants)
    s = {"lang": lang, "tpl": tpl, "var": var, "name": rng.randrange(8),
         "goods": rng.randrange(len(GOODS)), "collect": rng.randrange(len(COLLECT)),
         "item": rng.randrange(len(ITEMS)), "vals": {}, "money": set(), "exprs": []}
    v = s["vals"]
    if tpl == "buy":
        v["n"] = F(rng.randint(2, 9)); v["P"] = rrange(rng, UNIT_PRICE[cur]); v["T"] = v["n"] * v["P"]
        s["money"] = {"P", "T"}; s["exprs"] = [["n", "×", "P", "T"]]; s["gold"] = "T"
    elif tpl == "change":
        v["n"] = F(rng.randint(2, 6)); v["P"] = rrange(rng, UNIT_PRICE[cur]); v["C"] = v["n"] * v["P"]
        v["M"] = F(next(w for w in WALLET[cur] if w > v["C"]))
        v["R"] = v["M"] - v["C"]
        s["money"] = {"P", "M", "C", "R"}; s["exprs"] = [["n", "×", "P", "C"], ["M", "-", "C", "R"]]; s["gold"] = "R"
    elif tpl == "share":
        if var == "share_candy":
            v["k"] = F(rng.randint(2, 8)); v["Q"] = F(rng.randint(3, 15)); v["T"] = v["k"] * v["Q"]
            s["exprs"] = [["T", "÷", "k", "Q"]]; s["gold"] = "Q"
        elif var == "share_money":
            v["k"] = F(rng.choice([2, 4, 5])); v["TM"] = F(rng.randint(11, 99)); v["QM"] = v["TM"] / v["k"]
            s["money"] = {"TM", "QM"}; s["exprs"] = [["TM", "÷", "k", "QM"]]; s["gold"] = "QM"
        else:
            v["k"] = F(rng.choice([2, 4])); v["T"] = F(rng.randint(int(2 * v["k"]) + 1, 19)); v["Q"] = v["T"] / v["k"]
            s["exprs"] = [["T", "÷", "k", "Q"]]; s["gold"] = "Q"
    elif tpl == "speed":
        v["v"] = F(rng.randrange(60, 130, 10) if var == "speed_train" else rng.randrange(40, 95, 5))
        v["t"] = F(rng.randint(2, 5)); v["D"] = v["v"] * v["t"]
        s["exprs"] = [["v", "×", "t", "D"]]; s["gold"] = "D"
    elif tpl == "ages":
        while True:
            v["a"] = F(rng.randint(5, 13)); v["k"] = F(rng.randint(3, 5))
            if 26 <= v["a"] * v["k"] <= 45:
                break
        v["y"] = F(rng.randint(2, 10)); v["M"] = v["a"] * v["k"]; v["G"] = v["M"] + v["y"]
        s["exprs"] = [["k", "×", "a", "M"], ["M", "+", "y", "G"]]; s["gold"] = "G"
    elif tpl == "sumdiff":
        v["a"] = F(rng.randint(10, 60)); v["b"] = F(rng.randint(3, 25)); v["S"] = v["a"] + v["b"]
        v["cc"] = F(rng.randint(2, min(30, int(v["S"]) - 1))); v["G"] = v["S"] - v["cc"]
        s["exprs"] = [["a", "+", "b", "S"], ["S", "-", "cc", "G"]]; s["gold"] = "G"
    elif tpl == "mult":
        v["n"] = F(rng.randint(3, 12)); v["b"] = F(rng.randint(4, 24)); v["G"] = v["n"] * v["b"]
        s["exprs"] = [["n", "×", "b", "G"]]; s["gold"] = "G"
    elif tpl == "discount":
        v["P"] = rrange(rng, BIG_PRICE[cur]); v["r"] = F(rng.choice([10, 15, 20, 25, 30, 40, 50]))
        v["D"] = v["P"] * v["r"] / 100; v["G"] = v["P"] - v["D"]
        s["money"] = {"P", "D", "G"}
        s["exprs"] = [["P", "×", "r", "÷", F(100), "D"], ["P", "-", "D", "G"]]; s["gold"] = "G"
    elif tpl == "pct":
        while True:
            v["n"] = F(rng.choice([20, 25, 30, 40]) if var == "pct_class" else rng.randrange(100, 950, 50))
            v["r"] = F(rng.choice(PCTS)); v["G"] = v["n"] * v["r"] / 100
            if v["G"].denominator == 1:
                break
        s["exprs"] = [["n", "×", "r", "÷", F(100), "G"]]; s["gold"] = "G"
    elif tpl == "dec":
        v["n"] = F(rng.randint(2, 9))
        if var == "dec_money":
            v["P"] = F(rng.choice(CENT_PRICE[cur])); s["money"] = {"P", "T"}
            s["exprs"] = [["n", "×", "P", "T"]]
        else:
            v["p"] = F(rng.choice(["0.5", "1.5", "2.5", "0.75"]))
            s["exprs"] = [["n", "×", "p", "T"]]
        v["T"] = v["n"] * (v.get("P") or v["p"]); s["gold"] = "T"
    return s


def liters(x: F, lang: str) -> str:
    if lang == "fr":
        return "litre" if x < 2 else "litres"
    if lang == "pt":
        return "litro" if x < 2 else "litros"
    return "liter" if x == 1 else "liters"


def fields(s: dict, rlang: str, latex: bool, vals: dict | None = None) -> dict:
    """All template fields for scenario s rendered in language rlang."""
    src = s["lang"]
    vals = vals or s["vals"]
    cur = CURRENCY[src]
    d = {}
    for k, x in vals.items():
        d[k] = money(x, cur, rlang) if k in s["money"] else fmt(x, rlang)
    native, roman = NAMES[src][s["name"]]
    d["A"] = native if rlang == src else roman
    g = GOODS[s["goods"]] if s["tpl"] in ("buy", "change", "mult") else COLLECT[s["collect"]]
    o = g[rlang]
    if rlang == "en":
        d["obj_sg"], d["obj"] = o
    elif rlang == "fr":
        d["obj"], d["de_obj"], d["les_obj"] = o
    elif rlang == "pt":
        d["obj_sg"], d["obj"], d["qt"] = o
    else:
        d["obj"], d["ct"] = o
    d["item"] = ITEMS[s["item"]][rlang]
    if rlang == "ko":
        d["A_i"] = josa(d["A"], "이", "가")
        d["A_un"] = josa(d["A"], "은", "는")
        d["obj_ul"] = josa(d["obj"], "을", "를")
        d["obj_un"] = josa(d["obj"], "은", "는")
        d["obj_i"] = josa(d["obj"], "이", "가")
        d["ct_ul"] = josa(d["ct"], "을", "를")
        d["item_ul"] = josa(d["item"], "을", "를")
    for key in ("p", "T", "Q"):
        if key in vals:
            d["L_" + key] = liters(vals[key], rlang)
    for i, toks in enumerate(s["exprs"]):
        d[f"e{i}"] = expr([vals[t] if isinstance(t, str) and t in vals else t for t in toks], rlang, latex)
    return d


def reasoning(s: dict, rlang: str, latex: bool, vals: dict | None = None) -> list[str]:
    d = fields(s, rlang, latex, vals)
    return [line.format(**d) for line in TEXT[rlang][s["var"]][1]]


def question(s: dict) -> str:
    d = fields(s, s["lang"], latex=False)
    return TEXT[s["lang"]][s["var"]][0].format(**d)


# ---------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------

def boxed_value(s: dict, x: F, rng: random.Random) -> str:
    lang = s["lang"]
    if rng.random() < 0.2:
        return fmt(x, lang, thousands=True, cents=(s["gold"] in s["money"] and rng.random() < 0.5))
    return canon(x)


def to_thai_digits(text: str) -> str:
    """Thai digits everywhere except inside \\boxed{...}."""
    out, i = [], 0
    while True:
        j = text.find("\\boxed{", i)
        if j < 0:
            out.append(text[i:].translate(THAI_DIGITS))
            return "".join(out)
        k = text.index("}", j)
        out.append(text[i:j].translate(THAI_DIGITS))
        out.append(text[j:k + 1])
        i = k + 1


def slip(x: F, rng: random.Random) -> F:
    deltas = [F(1), F(-1), F(2), F(-2), F(10), F(-10)]
    if x.denominator != 1:
        deltas += [F(1, 2), F(-1, 2)]
    while True:
        y = x + rng.choice(deltas)
        if y > 0 and y != x:
            return y


def make_candidate(s: dict, kind: str, rng: random.Random) -> str:
    lang = s["lang"]
    thai_digits = lang == "th" and kind in ("good", "wrong", "nothink") and rng.random() < 0.3
    latex = not thai_digits and rng.random() < 0.25
    vals = dict(s["vals"])
    if kind == "wrong":
        vals[s["gold"]] = slip(vals[s["gold"]], rng)
    if kind == "collapse":
        lines = reasoning(s, "en", latex, vals)
    else:
        lines = reasoning(s, lang, latex, vals)
    if kind == "codeswitch":
        en = reasoning(s, "en", latex, vals)
        if rng.random() < 0.5:  # one or two lines replaced by their English version
            idx = sorted(rng.sample(range(len(lines)), rng.choice([1, 1, 2])))
            for i in idx:
                lines[i] = en[i]
            if all(len(en[i].split()) < 3 for i in idx):  # make sure there are English words
                lines[-1] = en[-1]
        else:  # an English aside inserted mid-trace
            elast = fields(s, "en", latex, vals)[f"e{len(s['exprs']) - 1}"]
            asides = [a.format(elast=elast) for a in EN_ASIDES]
            pos = rng.randint(1, len(lines) - 1)
            lines[pos:pos] = rng.sample(asides, rng.choice([1, 2]))
    if rng.random() < 0.15:  # markdown heading prefixes, stripped by the pipeline
        which = range(len(lines)) if rng.random() < 0.5 else [0]
        lines = ["## " + l if i in which else l for i, l in enumerate(lines)]
    value = vals[s["gold"]]
    if kind == "nobox":
        answer = rng.choice(ANSWER_NOBOX[lang]).replace("{B}", fmt(value, lang))
    else:
        answer = rng.choice(ANSWER[lang]).replace("{B}", "{" + boxed_value(s, value, rng) + "}")
    if thai_digits:
        lines = [to_thai_digits(l) for l in lines]
        answer = to_thai_digits(answer)
    body = "\n".join(lines)
    if kind == "truncated":
        i = rng.randrange(len(lines))
        line = lines[i]
        cut = rng.randint(max(2, len(line) * 2 // 5), max(3, len(line) * 17 // 20))
        partial = line[:cut].rstrip()
        return "<think>\n" + "\n".join(lines[:i] + [partial])
    if kind == "nothink":
        return body + "\n\n" + answer
    return "<think>\n" + body + "\n</think>\n\n" + answer


# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------

def build(seed: int = SEED, per_lang: int = QUESTIONS_PER_LANG):
    """Returns (records as dicts, stats dict).  Deterministic for a given seed."""
    rng = random.Random(seed)
    sizes, choices = [c for c, _ in CANDIDATES_PER_RECORD], [w for _, w in CANDIDATES_PER_RECORD]
    base = []  # (record, scenario, kinds)
    stats = {"records": {}, "candidates": {}, "kinds": {}}
    for lang in LANGS:
        scen = []
        seen_q = set()
        tpl_cycle = [TEMPLATES[i % len(TEMPLATES)] for i in range(per_lang)]
        rng.shuffle(tpl_cycle)
        for tpl in tpl_cycle:
            for attempt in range(500):  # no identical questions within a language
                if attempt >= 50:  # this template's number space is used up: take another
                    tpl = rng.choice(TEMPLATES)
                s = make_scenario(rng, lang, tpl)
                q = question(s)
                if q not in seen_q:
                    break
            seen_q.add(q)
            scen.append((s, q, rng.choices(sizes, choices)[0]))
        total = sum(n for _, _, n in scen)
        rates = DEFECT_RATES.get(lang, DEFECT_RATES["default"])
        kinds = []
        for kind, rate in rates.items():
            kinds += [kind] * round(rate * total)
        kinds += ["good"] * (total - len(kinds))
        rng.shuffle(kinds)
        pos = 0
        for i, (s, q, n) in enumerate(scen):
            ks = kinds[pos:pos + n]
            pos += n
            cands = []
            for k in ks:  # no accidental identical candidates inside one record
                for _ in range(20):
                    c = make_candidate(s, k, rng)
                    if c not in cands:
                        break
                cands.append(c)
            rec = {"id": f"{lang}-{i:04d}", "lang": lang, "question": q,
                   "gold": canon(s["vals"][s["gold"]]), "candidates": cands}
            base.append((rec, s, ks))
    rng.shuffle(base)

    lines = [(json.dumps(r, ensure_ascii=False), r["lang"], ks, "original") for r, _, ks in base]
    n_exact = round(EXACT_DUP_RATE * len(base))
    n_near = round(NEAR_DUP_RATE * len(base))
    next_id = {lang: QUESTIONS_PER_LANG for lang in LANGS}
    # Near-duplicates: same question, one good candidate with one word swapped.
    eligible = [i for i, (r, s, ks) in enumerate(base)
                if any(k == "good" and NEAR_SWAP[r["lang"]][0] in c.split("</think>")[0]
                       for k, c in zip(ks, r["candidates"]))]
    for i in sorted(rng.sample(eligible, n_near), reverse=True):
        r, s, ks = base[i]
        c = next(c for k, c in zip(ks, r["candidates"])
                 if k == "good" and NEAR_SWAP[r["lang"]][0] in c.split("</think>")[0])
        old, new = NEAR_SWAP[r["lang"]]
        think, sep, rest = c.partition("</think>")
        c2 = think.replace(old, new, 1) + sep + rest
        lang = r["lang"]
        nid = f"{lang}-{next_id[lang]:04d}"
        next_id[lang] += 1
        rec = {"id": nid, "lang": lang, "question": r["question"], "gold": r["gold"], "candidates": [c2]}
        at = rng.randint(i + 1, len(lines))  # somewhere after the original
        lines.insert(at, (json.dumps(rec, ensure_ascii=False), lang, ["near_dup"], "near_dup"))
    # Exact duplicates: a verbatim copy of an earlier line.
    originals = [i for i, l in enumerate(lines) if l[3] == "original"]
    for i in sorted(rng.sample(originals, n_exact), reverse=True):
        text, lang, ks, _ = lines[i]
        at = rng.randint(i + 1, len(lines))
        lines.insert(at, (text, lang, ["exact_dup"] * len(ks), "exact_dup"))

    for text, lang, ks, what in lines:
        st = stats["records"].setdefault(lang, {"original": 0, "exact_dup": 0, "near_dup": 0})
        st[what] += 1
        stats["candidates"][lang] = stats["candidates"].get(lang, 0) + len(ks)
        for k in ks:
            stats["kinds"].setdefault(k, {}).setdefault(lang, 0)
            stats["kinds"][k][lang] += 1
    return [t for t, _, _, _ in lines], stats


KIND_ORDER = ["good", "collapse", "codeswitch", "wrong", "nobox", "truncated", "nothink", "near_dup", "exact_dup"]


def print_stats(stats: dict, out=sys.stdout) -> None:
    langs = LANGS
    p = lambda *a: print(*a, file=out)
    p("| | " + " | ".join(langs) + " | total |")
    p("|---" * (len(langs) + 2) + "|")
    for what in ("original", "near_dup", "exact_dup"):
        row = [stats["records"][l][what] for l in langs]
        p(f"| records: {what} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    row = [sum(stats["records"][l].values()) for l in langs]
    p("| **records** | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    for k in KIND_ORDER:
        row = [stats["kinds"].get(k, {}).get(l, 0) for l in langs]
        p(f"| candidates: {k} | " + " | ".join(map(str, row)) + f" | {sum(row)} |")
    row = [stats["candidates"][l] for l in langs]
    p("| **candidates** | " + " | ".join(map(str, row)) + f" | {sum(row)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "default.jsonl"))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--stats-only", action="store_true")
    args = ap.parse_args()
    lines, stats = build(args.seed)
    if not args.stats_only:
        with open(args.out, "w", encoding="utf-8", newline="\n") as f:
            for line in lines:
                f.write(line + "\n")
        print(f"wrote {args.out}: {len(lines)} lines, {os.path.getsize(args.out)} bytes", file=sys.stderr)
    print_stats(stats)


if __name__ == "__main__":
    main()
