"""Forms parse what people type; the rules live in services."""

from __future__ import annotations

from django import forms

from govdesk.core.forms import StyledForm
from govdesk.core.models import OrgUnit, User

from .models import (
    Activity,
    Appeal,
    Conclusion,
    Dimension,
    Document,
    HqGroup,
    Industry,
    Parcel,
    Project,
    Region,
    Tier,
    Use,
)

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _industries():
    return Industry.objects.all()


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class FirmForm(StyledForm):
    name = forms.CharField(label="企业名称", max_length=120)
    credit_code = forms.CharField(label="统一社会信用代码", max_length=40, required=False,
                                  help_text="有则必填，用于查重")
    industry = forms.ModelChoiceField(label="产业", queryset=Industry.objects.none())
    region = forms.ChoiceField(label="总部所在区域", choices=Region.choices)
    city = forms.CharField(label="所在城市", max_length=30, required=False)
    squad = forms.ModelChoiceField(label="责任小分队", queryset=OrgUnit.objects.none(), required=False)
    referred_by = forms.CharField(label="推荐企业（以商引商，填企业名称）", max_length=120, required=False)
    contact_name = forms.CharField(label="联系人", max_length=30, required=False)
    contact_title = forms.CharField(label="联系人职务", max_length=50, required=False)
    contact_phone = forms.CharField(label="联系电话", max_length=20, required=False)
    note = forms.CharField(label="备注", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    unit = UnitChoice(label="所属单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args, units=(), squads=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["industry"].queryset = _industries()
        self.fields["squad"].queryset = squads
        self.fields["unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units])
        if units:
            self.fields["unit"].initial = units[0].pk
        self.tier_fields = []
        if editing:  # tiers and contacts have their own forms on the firm's page
            for name in ("unit", "contact_name", "contact_title", "contact_phone"):
                del self.fields[name]
            return
        for tier in Tier.objects.all():
            name = f"tier_{tier.code}"
            self.fields[name] = forms.IntegerField(label=f"{tier.name}（榜单年份）", required=False, min_value=1990,
                                                   max_value=2100)
            self.fields[name].widget.attrs.update({"class": "form-control", "placeholder": "不在榜单则留空"})
            self.tier_fields.append((tier, name))

    def tiers(self):
        return [(tier, self.cleaned_data[name]) for tier, name in self.tier_fields if self.cleaned_data.get(name)]


class TierForm(StyledForm):
    tier = forms.ModelChoiceField(label="榜单", queryset=Tier.objects.all(),
                                  widget=forms.Select(attrs={"aria-label": "榜单"}))
    year = forms.IntegerField(label="榜单年份", min_value=1990, max_value=2100,
                              widget=forms.NumberInput(attrs={"placeholder": "年份", "aria-label": "榜单年份"}))


class ContactForm(StyledForm):
    name = forms.CharField(label="联系人", max_length=30, widget=forms.TextInput(attrs={"placeholder": "联系人",
                                                                                    "aria-label": "联系人"}))
    title = forms.CharField(label="职务", max_length=50, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "职务", "aria-label": "职务"}))
    phone = forms.CharField(label="联系电话", max_length=20, required=False,
                            widget=forms.TextInput(attrs={"placeholder": "联系电话", "aria-label": "联系电话"}))


class MergeForm(StyledForm):
    duplicate = forms.IntegerField(label="被合并企业的编号", min_value=1,
                                   help_text="该企业的活动、研判、项目、诉求都会并入本企业，原记录删除")


class AssessmentForm(StyledForm):
    met_on = forms.DateField(label="研判会日期", widget=DATE)
    conclusion = forms.ChoiceField(label="研判结论", choices=Conclusion.choices)
    priority = forms.TypedChoiceField(label="优先级", choices=[(i, f"{i} 级") for i in range(1, 6)], coerce=int)
    squad = forms.ModelChoiceField(label="责任小分队", queryset=OrgUnit.objects.none())
    note = forms.CharField(label="研判意见", widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, squads=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["squad"].queryset = squads
        self.dimensions = []
        for dim in Dimension.objects.filter(active=True):
            score, evidence = f"score_{dim.pk}", f"evidence_{dim.pk}"
            self.fields[evidence] = forms.CharField(label=f"{dim.name}：依据", required=False,
                                                    widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}),
                                                    help_text=dim.guidance)
            self.fields[score] = forms.IntegerField(label=f"{dim.name}：得分（0–100，权重 {dim.weight:g}）",
                                                    required=False, min_value=0, max_value=100)
            self.fields[score].widget.attrs.update({"class": "form-control", "aria-label": f"{dim.name}得分"})
            self.fields[evidence].widget.attrs["aria-label"] = f"{dim.name}依据"
            self.dimensions.append((dim, score, evidence))

    def score_rows(self):
        return [(dim, self[s], self[e]) for dim, s, e in self.dimensions]

    def scores(self):
        return {dim.pk: (self.cleaned_data.get(s), self.cleaned_data.get(e, "")) for dim, s, e in self.dimensions}


class ActivityForm(StyledForm):
    kind = forms.ChoiceField(label="类型", choices=Activity.Kind.choices)
    happened_on = forms.DateField(label="日期", widget=DATE)
    participants = forms.CharField(label="参加人员", max_length=200)
    place = forms.CharField(label="地点", max_length=100, required=False)
    summary = forms.CharField(label="情况摘要", widget=forms.Textarea(attrs={"rows": 3}))
    squad = forms.ModelChoiceField(label="小分队", queryset=OrgUnit.objects.none(), required=False,
                                   help_text="留空则记在企业的责任小分队名下")

    def __init__(self, *args, squads=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["squad"].queryset = squads


class SquadMemberForm(StyledForm):
    user = UserChoice(label="成员", queryset=User.objects.none())
    is_leader = forms.BooleanField(label="队长", required=False)

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = people


class SquadMeetingForm(StyledForm):
    held_on = forms.DateField(label="会议日期", widget=DATE)
    minutes = forms.CharField(label="会议内容", widget=forms.Textarea(attrs={"rows": 3}))
    decisions = forms.CharField(label="议定事项", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class ProjectForm(StyledForm):
    name = forms.CharField(label="项目名称", max_length=120)
    firms = forms.ModelMultipleChoiceField(label="投资企业", queryset=OrgUnit.objects.none())
    industry = forms.ModelChoiceField(label="产业", queryset=Industry.objects.none())
    planned_investment = forms.DecimalField(label="计划投资（万元）", max_digits=14, decimal_places=2, min_value=0)
    need = forms.ChoiceField(label="载体需求", choices=Project.Need.choices, initial=Project.Need.NONE)
    need_area = forms.DecimalField(label="需求面积（土地填亩，楼宇填㎡）", max_digits=12, decimal_places=2,
                                   required=False, min_value=0)
    need_use = forms.ChoiceField(label="需求用途", choices=[("", "—")] + Use.choices, required=False)
    hq_group = forms.ModelChoiceField(label="责任工作组", queryset=HqGroup.objects.none())
    leader = forms.CharField(label="责任领导", max_length=30)
    unit = UnitChoice(label="所属单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args, units=(), firms=None, editing=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["firms"].queryset = firms
        self.fields["firms"].widget.attrs["size"] = 8
        self.fields["industry"].queryset = _industries()
        self.fields["hq_group"].queryset = HqGroup.objects.all()
        if editing:  # a project stays in its unit; the paid-in amount can be corrected
            del self.fields["unit"]
            self.fields["paid_in"] = forms.DecimalField(label="实际到位（万元）", max_digits=14, decimal_places=2,
                                                        min_value=0)
            self.fields["paid_in"].widget.attrs["class"] = "form-control"
            self.order_fields(["name", "firms", "industry", "planned_investment", "paid_in"])
            return
        self.fields["unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units])
        if units:
            self.fields["unit"].initial = units[0].pk


class MoveForm(StyledForm):
    to_stage = forms.ChoiceField(label="推进到", choices=Project.Stage.choices)
    note = forms.CharField(label="说明", max_length=500, required=False)
    lost_reason = forms.CharField(label="流失原因（仅标记流失时填写）", max_length=200, required=False)


class ProgressForm(StyledForm):
    note = forms.CharField(label="进展情况", widget=forms.Textarea(attrs={"rows": 2}))
    paid_in = forms.DecimalField(label="累计到位资金（万元）", max_digits=14, decimal_places=2, required=False,
                                 min_value=0)


class DocumentForm(StyledForm):
    kind = forms.ChoiceField(label="材料类型", choices=Document.Kind.choices)
    file = forms.FileField(label="文件（PDF、JPG、PNG）")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; cleans to a list (checked by the service, not here)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.jpg,.jpeg,.png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class DrawingForm(StyledForm):
    files = MultipleFileField(label="规划图纸（PDF、JPG、PNG，可多选）")


class AppealForm(StyledForm):
    firm = forms.ModelChoiceField(label="企业", queryset=OrgUnit.objects.none())
    category = forms.ChoiceField(label="类别", choices=Appeal.Category.choices)
    title = forms.CharField(label="诉求事项", max_length=120)
    detail = forms.CharField(label="具体内容", widget=forms.Textarea(attrs={"rows": 3}))
    urgency = forms.ChoiceField(label="紧急程度", choices=Appeal.Urgency.choices,
                                help_text="一般 15 天、紧急 7 天、特急 3 天内办结（可在配置中调整）")
    owner_group = forms.ModelChoiceField(label="责任工作组", queryset=HqGroup.objects.none())
    handler = UserChoice(label="承办人", queryset=User.objects.none())
    received_on = forms.DateField(label="受理日期", widget=DATE)

    def __init__(self, *args, firms=None, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["firm"].queryset = firms
        self.fields["owner_group"].queryset = HqGroup.objects.all()
        self.fields["handler"].queryset = people


class ReplyForm(StyledForm):
    text = forms.CharField(label="答复", widget=forms.Textarea(attrs={"rows": 2}))


class ReassignForm(StyledForm):
    owner_group = forms.ModelChoiceField(label="转交工作组", queryset=HqGroup.objects.none())
    handler = UserChoice(label="新承办人", queryset=User.objects.none(), required=False,
                         help_text="留空则仍由原承办人跟进")
    reason = forms.CharField(label="转办原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner_group"].queryset = HqGroup.objects.all()
        self.fields["handler"].queryset = people if people is not None else User.objects.none()


class ResolveForm(StyledForm):
    resolution = forms.CharField(label="办理结果", widget=forms.Textarea(attrs={"rows": 2}))
    resolved_on = forms.DateField(label="办结日期", widget=DATE)


class RateForm(StyledForm):
    rating = forms.TypedChoiceField(label="企业评价", choices=[(i, f"{i} 分") for i in range(5, 0, -1)], coerce=int)


class MeetingForm(StyledForm):
    held_on = forms.DateField(label="会议日期", widget=DATE)
    title = forms.CharField(label="会议名称", max_length=100, required=False, help_text="留空自动生成")
    chair = forms.CharField(label="主持人", max_length=30, required=False)


class MinutesForm(StyledForm):
    minutes = forms.CharField(label="会议纪要", widget=forms.Textarea(attrs={"rows": 6}), required=False)


class TaskForm(StyledForm):
    text = forms.CharField(label="交办事项", max_length=300)
    owner = UserChoice(label="责任人", queryset=User.objects.none())
    due_on = forms.DateField(label="完成时限", widget=DATE)
    project = forms.IntegerField(required=False, widget=forms.HiddenInput)
    appeal = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people


class TaskCloseForm(StyledForm):
    note = forms.CharField(label="销号说明", max_length=300, required=False)


class ParcelForm(StyledForm):
    unit = UnitChoice(label="报送单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="地块名称", max_length=100)
    location = forms.CharField(label="位置（四至）", max_length=200)
    area_mu = forms.DecimalField(label="面积（亩）", max_digits=10, decimal_places=2, min_value=0)
    planned_use = forms.ChoiceField(label="规划用途", choices=Use.choices)
    zoning = forms.CharField(label="控规指标", max_length=100, required=False)
    status = forms.ChoiceField(label="状态", choices=Parcel.Status.choices)
    direction = forms.CharField(label="招商方向", max_length=200, required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units])
        if units:
            self.fields["unit"].initial = units[0].pk


class BuildingForm(StyledForm):
    unit = UnitChoice(label="报送单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="楼宇名称", max_length=100)
    address = forms.CharField(label="地址", max_length=200)
    total_area = forms.DecimalField(label="总面积（㎡）", max_digits=12, decimal_places=2, min_value=0)
    vacant_area = forms.DecimalField(label="空置面积（㎡）", max_digits=12, decimal_places=2, min_value=0)
    rent = forms.DecimalField(label="租金（元/㎡·月）", max_digits=8, decimal_places=2, min_value=0)
    owner = forms.CharField(label="产权单位", max_length=100)
    main_tenants = forms.CharField(label="主要入驻企业", max_length=300, required=False)
    direction = forms.CharField(label="招商方向", max_length=200, required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units])
        if units:
            self.fields["unit"].initial = units[0].pk


class ReportForm(StyledForm):
    unit = UnitChoice(label="报送单位", queryset=OrgUnit.objects.none())
    month = forms.DateField(label="所报月份（任选该月一天）", widget=DATE)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units])
        if units:
            self.fields["unit"].initial = units[0].pk


class OfficeForm(StyledForm):
    lead_unit = UnitChoice(label="招商牵头单位", queryset=OrgUnit.objects.none(),
                           help_text="其工作人员可查看全区载体及上报情况")
    stall_amber_days = forms.IntegerField(label="停滞预警天数（黄）", min_value=1, max_value=3650)
    stall_red_days = forms.IntegerField(label="停滞告警天数（红）", min_value=2, max_value=3650)
    advantages = forms.CharField(label="区位优势（印在项目包装页上）", widget=forms.Textarea(attrs={"rows": 4}),
                                 required=False)

    def __init__(self, *args, units=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead_unit"].queryset = OrgUnit.objects.filter(pk__in=[u.pk for u in units])
