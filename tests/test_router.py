"""The tool-offer policy: the router ranks the right tools for requests the generator phrased and for
the hand-written natural set, and every caller (generator, evaluator, session) offers what it offers."""
import pytest

from lib.gennx.catalogue import load_catalogue
from lib.router import K, TIERS, default_router, recall_at_k, seed_requests, tool_text


@pytest.fixture(scope="module")
def router():
    return default_router()


@pytest.mark.parametrize("text, gold", [
    ("절점 1번을 원점에 추가해줘", "create_node"),
    ("node 5 at (0,0,3.5)", "create_node"),
    ("1~4번 절점 고정지점으로 해줘", "add_support"),
    ("fix nodes 1 and 2 as supports", "add_support"),
    ("활하중 케이스 LL2 추가해 줘", "create_load_case"),
    ("add a seismic load case EY", "create_load_case"),
    ("put a 20 kN downward point load on node 12 under LL", "add_nodal_load"),
    ("해석 돌려줘", "run_analysis"),
    ("반력 보여줘", "get_reactions"),
    ("층간변위 확인해줘", "get_story_drift"),
    ("단위를 kN, m로 바꿔", "set_units"),
    ("Create a 500x500 rectangular section", "create_section_rectangle"),
    ("1번 요소 삭제해", "delete_elements"),
])
def test_the_gold_tool_is_among_the_offered_k(router, text, gold):
    assert gold in router.offer(text)


def test_offer_returns_k_distinct_routable_tools(router):
    catalogue = load_catalogue()
    for text in ("안녕", "pushover hinge fiber", "", "!!!"):
        offered = router.offer(text)
        assert len(offered) == len(set(offered)) == K
        assert all(catalogue[n].tier in TIERS for n in offered)


def test_recall_counts_all_gold_tools_of_a_case(router):
    # a case is a hit only when every gold tool is offered
    assert recall_at_k(router, [("절점 추가해줘", ["create_node", "get_story_drift"])], ks=(1,)) == {1: 0.0}
    assert recall_at_k(router, [], ks=(3,)) == {3: 0.0}


def test_the_index_covers_every_routable_tool_and_blanks_slots(router):
    assert set(router.names) == {t.name for t in load_catalogue().tools.values() if t.tier in TIERS}
    assert all("{" not in text for text, _ in seed_requests())
    assert "POST" not in tool_text(load_catalogue()["create_node"])   # routes are not words of a request


def test_choose_keeps_a_callers_best_tools_in_rank_order(router):
    catalogue = load_catalogue()
    mine = catalogue.openai_tools(["get_reactions", "create_node", "run_analysis"])
    foreign = {"type": "function", "function": {"name": "get_weather", "description": "weather for a city"}}
    chosen = router.choose("절점 추가", mine + [foreign], k=2)
    assert [t["function"]["name"] for t in chosen][0] == "create_node" and len(chosen) == 2
    assert router.choose("what's the weather in Seoul", [foreign] + mine, k=1)[0] is foreign
