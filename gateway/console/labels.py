"""Chinese labels for the API's codes (states, categories, actions, roles …); unknown codes are
shown as they are."""

from __future__ import annotations

__all__ = ["LABELS", "label"]

LABELS: dict[str, dict[str, str]] = {
    "state": {
        "submitted": "已提交",
        "verification": "入户核实",
        "village_review": "村级评议",
        "public_notice": "公示",
        "township_review": "乡镇审核",
        "county_review": "县级审定",
        "monitored": "已纳入监测",
        "eliminated": "已消除风险",
        "rejected": "未通过",
        "rolled_back": "已回退",
        "cleared": "已清退",
    },
    "procedure": {"identification": "识别认定", "elimination": "风险消除"},
    "category": {
        "unstable_escaped": "脱贫不稳定户",
        "marginal": "边缘易致贫户",
        "sudden_hardship": "突发严重困难户",
    },
    "low_income_category": {
        "dibao": "低保",
        "tekun": "特困",
        "dibao_edge": "低保边缘",
        "expenditure_hardship": "支出型困难",
    },
    "warning": {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警"},
    "status": {
        "registered": "在册",
        "monitored": "监测中",
        "eliminated": "已消除风险",
        "cleared": "已清退",
        "open": "进行中",
        "closed": "已关闭",
        "proposed": "拟定",
        "accepted": "已落实",
        "approved": "已审批",
        "paid": "已发放",
        "pending": "待审批",
        "rejected": "未通过",
    },
    "action": {
        "submit": "提交申请",
        "advance": "通过，进入下一步",
        "reject": "不予通过",
        "object": "登记异议",
        "resolve_objection": "异议处理完毕",
        "propose_elimination": "提出风险消除",
        "rollback": "回退",
        "clear": "清退",
    },
    "role": {
        "province": "省级",
        "county": "县级",
        "township": "乡镇",
        "village": "村级",
        "contact": "帮扶联系人",
        "department": "行业部门",
        "citizen": "群众",
        "admin": "管理员",
    },
    "risk_type": {
        "illness": "因病",
        "disability": "因残",
        "schooling": "因学",
        "disaster": "因灾",
        "accident": "因意外事故",
        "lack_of_labor": "缺劳力",
        "unstable_employment": "务工就业不稳",
        "housing": "住房安全",
        "drinking_water": "饮水安全",
        "industry_failure": "产业失败",
        "other": "其他",
    },
    "relation": {
        "head": "户主",
        "spouse": "配偶",
        "child": "子女",
        "parent": "父母",
        "grandchild": "孙子女",
        "grandparent": "祖父母",
        "sibling": "兄弟姐妹",
        "other": "其他",
    },
    "sex": {"male": "男", "female": "女"},
    "labor_capacity": {
        "ordinary": "普通劳动力",
        "skilled": "技能劳动力",
        "weak": "弱劳动力",
        "half": "半劳动力",
        "none": "无劳动力",
    },
    "level": {"province": "省", "city": "市", "county": "县", "township": "乡镇", "village": "村"},
}


def label(kind: str, code: object) -> str:
    if code is None or code == "":
        return "—"
    return LABELS.get(kind, {}).get(str(code), str(code))
