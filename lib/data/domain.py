"""Structural-domain questions answered without tools: the sourced fact table plus computed questions.

Facts come from data/domain/facts.jsonl (each with its source). Computed questions apply a code formula
to sampled numbers (concrete modulus, factored loads, allowable drift …) and show the working, so the
answers are right by construction.
"""
from __future__ import annotations

import math

from ..jsonl import read_jsonl
from ..paths import DATA

FACTS = DATA / "domain" / "facts.jsonl"
EN_CLASSES = {20: 25, 25: 30, 30: 37, 35: 45, 40: 50, 45: 55, 50: 60}


def load_facts() -> list[dict]:
    return read_jsonl(FACTS)


def kds_ec(fck: float) -> float:
    delta = 4 if fck <= 40 else 6 if fck >= 60 else 4 + (fck - 40) / 10
    return 8500 * (fck + delta) ** (1 / 3)


def en_ecm(fck: float) -> float:
    return 22000 * ((fck + 8) / 10) ** 0.3


def _ko_or_en(rng, ko_share=0.8):
    return "ko" if rng.random() < ko_share else "en"


def q_kds_ec(rng):
    fck = rng.choice([18, 21, 24, 27, 30, 35, 40, 45, 50, 60])
    delta = 4 if fck <= 40 else 6 if fck >= 60 else 4 + (fck - 40) / 10
    ec = kds_ec(fck)
    if _ko_or_en(rng) == "ko":
        q = rng.choice([f"fck {fck} MPa 콘크리트 탄성계수 KDS로 얼마야?", f"C{fck} 콘크리트의 Ec를 KDS 식으로 계산해 줘", f"설계기준강도 {fck} MPa일 때 콘크리트 탄성계수는?"])
        a = f"KDS 14 20 10 식으로 fcm = fck + Δf = {fck} + {delta:g} = {fck + delta:g} MPa, Ec = 8,500·∛{fck + delta:g} ≈ {ec:,.0f} MPa입니다."
        return "ko", q, a
    q = rng.choice([f"What is Ec for fck = {fck} MPa concrete by KDS?", f"Compute the KDS elastic modulus of C{fck} concrete."])
    return "en", q, f"By KDS 14 20 10: fcm = {fck} + {delta:g} = {fck + delta:g} MPa, so Ec = 8,500·∛{fck + delta:g} ≈ {ec:,.0f} MPa."


def q_en_ecm(rng):
    fck = rng.choice(sorted(EN_CLASSES))
    ecm = en_ecm(fck)
    if _ko_or_en(rng) == "ko":
        q = rng.choice([f"유로코드로 C{fck}/{EN_CLASSES[fck]} 콘크리트 Ecm은?", f"EN 1992 기준 fck {fck} MPa 콘크리트 탄성계수 계산해 줘"])
        return "ko", q, f"EN 1992-1-1 표 3.1: fcm = {fck} + 8 = {fck + 8} MPa, Ecm = 22·({fck + 8}/10)^0.3 ≈ {ecm / 1000:.1f} GPa({ecm:,.0f} MPa)입니다."
    return "en", f"What is Ecm of C{fck}/{EN_CLASSES[fck]} concrete in Eurocode 2?", f"EN 1992-1-1 Table 3.1: fcm = {fck + 8} MPa, Ecm = 22·({fck + 8}/10)^0.3 ≈ {ecm / 1000:.1f} GPa."


def q_aci_ec(rng):
    fc = rng.choice([21, 24, 28, 30, 35, 40, 45])
    ec = 4700 * math.sqrt(fc)
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"ACI로 f'c {fc} MPa 콘크리트 Ec는?", f"ACI 318 식으로 {fc} MPa 콘크리트 탄성계수 구해줘"]), \
            f"ACI 318-19 19.2.2.1(b): Ec = 4,700·√{fc} ≈ {ec:,.0f} MPa입니다."
    return "en", f"ACI 318 Ec for f'c = {fc} MPa?", f"ACI 318-19 19.2.2.1(b): Ec = 4,700·√{fc} ≈ {ec:,.0f} MPa."


def q_factored(rng):
    d, l = rng.randrange(20, 501, 10), rng.randrange(0, 401, 10)
    u1, u2 = 1.4 * d, 1.2 * d + 1.6 * l
    gov = "1.4D" if u1 >= u2 else "1.2D+1.6L"
    if _ko_or_en(rng) == "ko":
        q = rng.choice([f"고정하중 {d} kN, 활하중 {l} kN이면 KDS 계수하중은?", f"D = {d} kN, L = {l} kN일 때 설계용 계수하중 계산해 줘", f"DL {d}, LL {l} kN 조합하면 소요강도 얼마야?"])
        return "ko", q, f"KDS 41 10 15: 1.4D = {u1:g} kN, 1.2D + 1.6L = {u2:g} kN이므로 {gov} 조합이 지배하고 계수하중은 {max(u1, u2):g} kN입니다."
    return "en", f"Dead load {d} kN and live load {l} kN: what is the factored load (KDS/ACI)?", \
        f"1.4D = {u1:g} kN and 1.2D + 1.6L = {u2:g} kN, so {gov} governs: U = {max(u1, u2):g} kN."


def q_drift(rng):
    h = rng.choice([3.0, 3.3, 3.5, 3.6, 4.0, 4.2, 4.5, 5.0])
    grade, ratio = rng.choice([("특등급", 0.010), ("I등급", 0.015), ("II등급", 0.020)])
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"층고 {h:g} m, 내진{grade}이면 허용 층간변위는?", f"내진{grade} 건물 층고 {h:g} m의 허용층간변위 계산해 줘"]), \
            f"KDS 41 17 00: 허용층간변위 = {ratio:.3f}·hsx = {ratio:.3f} × {h * 1000:,.0f} mm = {ratio * h * 1000:g} mm입니다."
    return "en", f"Allowable story drift for a {h:g} m story, seismic {grade.replace('등급', '')} grade (KDS)?", \
        f"KDS 41 17 00: {ratio:.3f}·hsx = {ratio:.3f} × {h * 1000:,.0f} mm = {ratio * h * 1000:g} mm."


def q_selfweight(rng):
    b, h = rng.choice([0.3, 0.35, 0.4, 0.45, 0.5]), rng.choice([0.5, 0.55, 0.6, 0.7, 0.8, 0.9])
    w = 24 * b * h
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"{b * 1000:.0f}×{h * 1000:.0f} RC보 자중 몇 kN/m야?", f"폭 {b:g} m 춤 {h:g} m 철근콘크리트 보의 단위길이 자중은?"]), \
            f"단위중량 24 kN/m³(KDS 41 10 15) × {b:g} m × {h:g} m = {w:.2f} kN/m입니다."
    return "en", f"Self-weight per metre of a {b * 1000:.0f}x{h * 1000:.0f} mm RC beam?", f"24 kN/m³ × {b:g} m × {h:g} m = {w:.2f} kN/m (KDS 41 10 15 unit weight)."


def q_ss_moment(rng):
    w, span = rng.randrange(5, 61, 5), rng.choice([4, 5, 6, 7.2, 8, 9, 10, 12])
    m, r = w * span**2 / 8, w * span / 2
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"스팬 {span:g} m 단순보에 {w} kN/m 등분포하중이면 최대모멘트는?", f"단순보 L={span:g} m, w={w} kN/m 중앙 휨모멘트랑 반력 구해줘"]), \
            f"M = wL²/8 = {w} × {span:g}² / 8 = {m:.1f} kN·m, 반력은 각각 wL/2 = {r:.1f} kN입니다."
    return "en", f"Simply supported beam, span {span:g} m, {w} kN/m: maximum moment?", f"M = wL²/8 = {m:.1f} kN·m at midspan; each reaction is wL/2 = {r:.1f} kN."


def q_units(rng):
    kgf = rng.choice([180, 210, 240, 270, 300, 350, 400])
    mpa = kgf * 0.0980665
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"{kgf} kgf/cm²는 몇 MPa야?", f"콘크리트 강도 {kgf} kgf/cm²를 MPa로 바꿔줘"]), \
            f"1 kgf/cm² = 0.0980665 MPa이므로 {kgf} kgf/cm² ≈ {mpa:.1f} MPa입니다."
    return "en", f"Convert {kgf} kgf/cm² to MPa.", f"1 kgf/cm² = 0.0980665 MPa, so {kgf} kgf/cm² ≈ {mpa:.1f} MPa."


def q_period(rng):
    stories, h = rng.randint(3, 20), rng.choice([3.0, 3.3, 3.5, 4.0])
    hn = stories * h
    ta = 0.0466 * hn**0.9
    if _ko_or_en(rng) == "ko":
        return "ko", f"{stories}층, 층고 {h:g} m RC 모멘트골조의 근사고유주기는?", \
            f"Ta = Ct·hn^x = 0.0466 × {hn:g}^0.9 ≈ {ta:.2f}초입니다(KDS 41 17 00, RC 모멘트골조)."
    return "en", f"Approximate period of a {stories}-storey RC moment frame with {h:g} m stories?", f"Ta = 0.0466 × {hn:g}^0.9 ≈ {ta:.2f} s (RC moment frame)."


def c_ec(rng):
    fck = rng.choice([20, 25, 30, 35, 40, 45, 50])
    k, e = kds_ec(fck), en_ecm(fck)
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"fck {fck} MPa에서 KDS와 유로코드 탄성계수 비교해 줘", f"C{fck} 콘크리트 Ec, KDS랑 EN 1992 중 어디가 커?"]), \
            f"KDS 14 20 10: Ec ≈ {k:,.0f} MPa, EN 1992-1-1: Ecm ≈ {e:,.0f} MPa로 {'Eurocode' if e > k else 'KDS'} 값이 {abs(e - k) / min(e, k):.0%} 큽니다."
    return "en", f"Compare the KDS and Eurocode concrete modulus for fck = {fck} MPa.", \
        f"KDS 14 20 10 gives Ec ≈ {k:,.0f} MPa and EN 1992-1-1 Ecm ≈ {e:,.0f} MPa; the {'Eurocode' if e > k else 'KDS'} value is {abs(e - k) / min(e, k):.0%} larger."


def c_factored(rng):
    d, l = rng.randrange(20, 401, 10), rng.randrange(10, 301, 10)
    kds = max(1.4 * d, 1.2 * d + 1.6 * l)
    en = 1.35 * d + 1.5 * l
    if _ko_or_en(rng) == "ko":
        return "ko", rng.choice([f"D {d} kN, L {l} kN일 때 KDS랑 유로코드 계수하중 비교", f"고정하중 {d}, 활하중 {l} kN이면 KDS와 EN 1990 설계하중이 각각 얼마야?"]), \
            f"KDS 41(ACI와 같음): max(1.4D, 1.2D+1.6L) = {kds:g} kN, EN 1990 식 6.10: 1.35G + 1.5Q = {en:g} kN입니다. 이 경우 {'Eurocode' if en > kds else 'KDS'} 쪽이 더 큽니다."
    return "en", f"D = {d} kN, L = {l} kN: compare the KDS and Eurocode factored loads.", \
        f"KDS/ACI: max(1.4D, 1.2D + 1.6L) = {kds:g} kN; EN 1990 eq. 6.10: 1.35G + 1.5Q = {en:g} kN, so {'Eurocode' if en > kds else 'KDS'} is higher here."


def c_selfweight(rng):
    b, h, span = rng.choice([0.3, 0.4, 0.5]), rng.choice([0.6, 0.7, 0.8]), rng.choice([6, 8, 10])
    k, e = 24 * b * h * span, 25 * b * h * span
    if _ko_or_en(rng) == "ko":
        return "ko", f"{b * 1000:.0f}×{h * 1000:.0f} 보 {span} m 자중을 KDS와 유로코드 단위중량으로 각각 계산해 줘", \
            f"KDS 24 kN/m³: {k:.1f} kN, EN 1991-1-1 25 kN/m³: {e:.1f} kN으로 Eurocode 값이 약 4 % 큽니다."
    return "en", f"Self-weight of a {b * 1000:.0f}x{h * 1000:.0f} mm beam over {span} m with KDS and Eurocode unit weights?", \
        f"KDS 24 kN/m³: {k:.1f} kN; EN 1991-1-1 25 kN/m³: {e:.1f} kN, about 4 % more."


def c_office(rng):
    area = rng.choice([100, 150, 200, 250, 300, 400, 500, 600])
    if _ko_or_en(rng) == "ko":
        return "ko", f"사무실 바닥 {area} m²의 전체 활하중을 KDS, ASCE 7, 유로코드로 비교해 줘", \
            f"KDS 2.5 kN/m² → {2.5 * area:g} kN, ASCE 7 2.4 kN/m²(50 psf) → {2.4 * area:g} kN, EN 1991-1-1 권장 3.0 kN/m² → {3.0 * area:g} kN입니다."
    return "en", f"Total office live load on {area} m² by KDS, ASCE 7 and Eurocode?", \
        f"KDS 2.5 kN/m² → {2.5 * area:g} kN; ASCE 7 2.4 kN/m² → {2.4 * area:g} kN; EN 1991-1-1 3.0 kN/m² (recommended) → {3.0 * area:g} kN."


QA_GENERATORS = [q_kds_ec, q_en_ecm, q_aci_ec, q_factored, q_drift, q_selfweight, q_ss_moment, q_units, q_period]
COMPARISON_GENERATORS = [c_ec, c_factored, c_selfweight, c_office]


def fact_variants(fact: dict) -> list[tuple[str, str, str]]:
    """(lang, question, answer) for every phrasing of a fact."""
    return [("ko", q, fact["answer_ko"]) for q in fact["questions_ko"]] + [("en", q, fact["answer_en"]) for q in fact["questions_en"]]
