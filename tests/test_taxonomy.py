"""The skills taxonomy shipped in the package."""
from volunteer.setup import taxonomy

REQUIRED = ["医生", "护士", "心理咨询师", "律师", "人民调解员", "电工", "水管工", "木工", "家电维修",
            "教师", "电脑维修", "社工", "养老护理员", "会计", "消防安全员", "保洁", "园艺", "驾驶员",
            "理发师", "翻译", "厨师", "治安巡逻", "政策宣传", "文艺演出", "公务员", "企业管理"]


def test_required_skills_present_with_both_names():
    skills = {s["zh"]: s for s in taxonomy()["skills"]}
    for name in REQUIRED:
        assert name in skills, name
        s = skills[name]
        assert s["en"] and s["category"] and isinstance(s["needs_certificate"], bool)
        assert s["synonyms_zh"] or s["synonyms_en"]


def test_codes_unique_and_categories_known():
    data = taxonomy()
    codes = [s["code"] for s in data["skills"]]
    assert len(codes) == len(set(codes))
    cats = {c["code"] for c in data["categories"]}
    assert all(s["category"] in cats for s in data["skills"])


def test_regulated_work_needs_a_certificate():
    skills = {s["zh"]: s for s in taxonomy()["skills"]}
    for name in ["医生", "护士", "律师", "电工"]:
        assert skills[name]["needs_certificate"], name
    assert not skills["保洁"]["needs_certificate"]


def test_colloquial_synonyms():
    skills = {s["zh"]: s for s in taxonomy()["skills"]}
    assert "大夫" in skills["医生"]["synonyms_zh"]
    assert "水电工" in skills["电工"]["synonyms_zh"]
    assert "水电工" in skills["水管工"]["synonyms_zh"]
