"""Forms only parse what people type; the rules live in services.clean_record."""

from django import forms

from govdesk.core.forms import StyledForm
from govdesk.core.models import OrgUnit

from .models import (
    BRANCHES,
    DISCHARGE_TYPES,
    EDUCATIONS,
    ETHNICITIES,
    PLACEMENTS,
    POLITICAL_STATUSES,
    Appointment,
    Attachment,
    Category,
    Record,
)


def _choices(values, blank="—"):
    return [("", blank)] + [(v, v) for v in values]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CommunityChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.parent.name} / {obj.name}" if obj.parent_id else obj.name


class RecordForm(StyledForm):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="公民身份号码", max_length=30)
    gender = forms.ChoiceField(label="性别", choices=_choices(["男", "女"], "请选择"))
    birth_date = forms.DateField(label="出生日期", widget=DateInput(), required=False,
                                 help_text="可不填，按身份证号自动取得；填写时须与身份证号一致")
    ethnicity = forms.ChoiceField(label="民族", choices=_choices(ETHNICITIES, "请选择"), initial="汉族")
    phone = forms.CharField(label="联系电话", max_length=30, required=False)
    category = forms.ModelChoiceField(label="人员类别", queryset=Category.objects.filter(active=True),
                                      to_field_name="code", empty_label="请选择")
    community = CommunityChoice(label="所属社区", queryset=OrgUnit.objects.none(), empty_label="请选择")
    household_address = forms.CharField(label="户籍地址", max_length=200)
    residential_address = forms.CharField(label="居住地址", max_length=200)
    political_status = forms.ChoiceField(label="政治面貌", choices=_choices(POLITICAL_STATUSES), required=False)
    education = forms.ChoiceField(label="文化程度", choices=_choices(EDUCATIONS), required=False)
    enlisted_on = forms.DateField(label="入伍时间", widget=DateInput(), required=False)
    discharged_on = forms.DateField(label="退役时间", widget=DateInput(), required=False)
    service_unit = forms.CharField(label="服役部队", max_length=100, required=False)
    branch = forms.ChoiceField(label="军种", choices=_choices(BRANCHES), required=False)
    rank = forms.CharField(label="军衔/职级", max_length=32, required=False)
    discharge_type = forms.ChoiceField(label="退役方式", choices=_choices(DISCHARGE_TYPES), required=False)
    placement = forms.ChoiceField(label="安置方式", choices=_choices(PLACEMENTS), required=False)
    disability_grade = forms.TypedChoiceField(label="伤残等级", coerce=int, empty_value=None, required=False,
                                              choices=[("", "无")] + [(i, f"{i} 级") for i in range(1, 11)])
    disability_nature = forms.ChoiceField(label="伤残性质", choices=_choices([c for c, _ in Record.Nature.choices]),
                                          required=False)
    disability_certificate = forms.CharField(label="残疾军人证号", max_length=40, required=False)
    awards = forms.CharField(label="立功受奖", widget=forms.Textarea(attrs={"rows": 2}), required=False)
    family_link = forms.CharField(label="与现役/牺牲军人关系", max_length=100, required=False,
                                  help_text="遗属、家属填写，如「烈士张某之子」")
    employment = forms.CharField(label="就业状况", max_length=32, required=False)
    social_security = forms.CharField(label="社会保险", max_length=32, required=False)
    medical = forms.CharField(label="医疗保障", max_length=32, required=False)
    housing = forms.CharField(label="住房状况", max_length=32, required=False)
    assistance = forms.CharField(label="帮扶救助", max_length=100, required=False)

    def __init__(self, *args, communities=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities if communities is not None else OrgUnit.objects.none()


class ChangeRequestForm(RecordForm):
    reason = forms.CharField(label="变更理由", max_length=200)


class ReturnForm(StyledForm):
    reason = forms.CharField(label="退回原因", max_length=200)


class AttachmentForm(StyledForm):
    kind = forms.ChoiceField(label="材料类型", choices=Attachment.Kind.choices)
    file = forms.FileField(label="扫描件（JPEG/PNG/PDF）")


class PointForm(StyledForm):
    unit = forms.ModelChoiceField(label="所属街道/社区", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="名称", max_length=100)
    address = forms.CharField(label="地址", max_length=200)
    opens_at = forms.TimeField(label="开始时间", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    closes_at = forms.TimeField(label="结束时间", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    daily_capacity = forms.IntegerField(label="每日接待量", min_value=1)
    slot_minutes = forms.IntegerField(label="时段长度（分钟）", min_value=1, initial=30)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()


class BookForm(StyledForm):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = forms.CharField(label="公民身份号码", max_length=30)
    phone = forms.CharField(label="联系电话", max_length=30, required=False)
    kind = forms.ChoiceField(label="采集方式", choices=Appointment.Kind.choices)
    home_address = forms.CharField(label="上门地址（上门采集时填写）", max_length=200, required=False)


class CheckInForm(StyledForm):
    code = forms.CharField(label="预约码（扫描预约单二维码或手工输入）", max_length=40)


class ExpectedForm(StyledForm):
    street = forms.ModelChoiceField(label="街道", queryset=OrgUnit.objects.none())
    expected = forms.IntegerField(label="应采集人数", min_value=0)

    def __init__(self, *args, streets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets if streets is not None else OrgUnit.objects.none()
