"""Descriptions of the API's enums and of fields common to many models, in English with the Chinese term."""

ENUM_DESCRIPTIONS = {
    "Visibility": "Who opens a saved report (共享范围): its owner only (私有), users of one role (按角色) or "
    "everyone (本区域) in the owner's organization and below it",
    "OperationKind": "Kind of a registered operation (操作类型): query (查询), mutation (变更) or "
    "subscription (订阅)",
    "DeliveryState": "State of a webhook delivery (推送状态): pending (待发送), delivered (已送达) or failed "
    "(失败: retries ran out)",
    "Level": "The five national levels of 好差评",
    "Tier": "Tier of an organization: region, center (政务服务中心), hall (便民服务大厅) "
    "or room (便民服务室)",
    "OrgKind": "Kind of organization: province (省), district (管理区), administration (行政审批局), "
    "sub-district (办事处), team (队), village (村) or community (社区)",
    "ConstructionStatus": "Construction of a hall or room: planned (规划), under construction (在建), "
    "built (已建成) or standardized (标准化)",
    "ItemType": "National item type (事项类型): 行政许可, 行政处罚, 行政强制, 行政征收, 行政给付, 行政检查, "
    "行政确认, 行政奖励, 行政裁决, 其他行政权力, 公共服务",
    "ItemSource": "Source of authority (权力来源): delegated by the city (市级下放), entrusted by the county "
    "(县级委托) or own (本级)",
    "CaseKind": "Case kind (办件类型): immediate (即办件) or promised (承诺件)",
    "Power": "What an organization may do with an item: full handling, accept and pre-review (受理+初审) "
    "or agency only (代办)",
    "MaterialForm": "Form of an application material (材料形式): original, copy, both, electronic",
    "ApplicantType": "Applicant (申请人类型): person (自然人) or company (法人)",
    "Channel": "How a case came in (申请渠道): counter (窗口), online (网上), agency (代办) or proactive "
    "company agency (受理+代办)",
    "CaseStatus": "State of a case (办件状态)",
    "Decision": "Decision on a case (决定): approved (准予) or denied (不予)",
    "CaseAction": "Step recorded on a case (办理环节)",
    "FundingPurpose": "Purpose of funding (资金用途): hall construction, reward-for-subsidy (以奖代补), "
    "one-network platform (一网平台) or other",
    "CalendarSource": "Where a calendar day came from: the chinese-calendar package or an admin",
    "CalendarDayKind": "Kind of calendar day (日期类型): workday (工作日), weekend (周末: a Saturday or "
    "Sunday off), holiday (节假日: a statutory holiday, a day off in lieu 调休放假, or another weekday off) "
    "or make-up workday (调休上班: a Saturday or Sunday worked for a holiday, which holidayName names)",
    "DutyPeriod": "Duty period (值班时段): full day, morning or afternoon",
    "Role": "Role of a user (角色)",
    "AuditAction": "Audited action (审计操作): a write, or a sign-in, sign-out or key event",
}

# Descriptions of fields any model may have, by name (a model's own descriptions come first).
FIELD_DESCRIPTIONS = {
    "id": "Global Relay id (全局标识)",
    "code": "Unique code (编码)",
    "name": "Name (名称)",
    "created_at": "When the record was created (创建时间)",
    "updated_at": "When the record was last changed (更新时间)",
    "active": "Whether it is in force (有效)",
    "organization": "Organization it belongs to (所属组织)",
    "staff": "Staff member (工作人员)",
    "notes": "Notes (备注)",
    "note": "Note (备注)",
    "source": "Source (来源)",
    "description": "Description (说明)",
    "phone": "Phone number (电话)",
    "position": "Position (岗位)",
    "comment": "Comment (意见)",
}
