"""Forms parse what people type; the services hold the rules and give the messages."""

import uuid

from django import forms
from django.utils import timezone

from govdesk.core.forms import StyledForm
from govdesk.core.models import OrgUnit

from .models import Campaign, Inspection, Place


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.parent.name} · {obj.name}" if obj.parent_id and obj.kind != OrgUnit.Kind.STREET else obj.name


class PlaceForm(StyledForm):
    community = UnitChoice(label="所在社区", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="名称", max_length=100)
    kind = forms.ChoiceField(label="类型", choices=Place.Kind.choices)
    address = forms.CharField(label="地址", max_length=200)
    contact_name = forms.CharField(label="联系人", max_length=50, required=False)
    contact_phone = forms.CharField(label="联系电话", max_length=20, required=False,
                                    help_text="修改时留空表示不变更已存的号码")

    def __init__(self, *args, communities=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["community"].queryset = communities if communities is not None else OrgUnit.objects.none()


class FindingsForm(StyledForm):
    coal_present = forms.BooleanField(label="发现散煤", required=False)
    coal_kind = forms.ChoiceField(label="煤炭种类", choices=[("", "—")] + Inspection.CoalKind.choices, required=False)
    quantity_kg = forms.CharField(label="数量（公斤）", required=False)
    source = forms.CharField(label="来源", max_length=100, required=False)
    storage = forms.CharField(label="存放地点", max_length=100, required=False)
    used_by = forms.CharField(label="使用人", max_length=100, required=False)
    educated = forms.BooleanField(label="宣传教育", required=False)
    seized = forms.BooleanField(label="收缴", required=False)
    seized_kg = forms.CharField(label="收缴数量（公斤）", required=False)
    rectification_ordered = forms.BooleanField(label="下达整改通知", required=False)
    rectification_deadline = forms.DateField(label="整改期限", required=False, widget=DateInput())
    referred = forms.BooleanField(label="移交执法", required=False)
    note = forms.CharField(label="备注", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    FINDINGS = ["coal_present", "coal_kind", "quantity_kg", "source", "storage", "used_by", "educated", "seized",
                "seized_kg", "rectification_ordered", "rectification_deadline", "referred", "note"]

    def findings(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.FINDINGS if name in self.fields}


class InspectionForm(FindingsForm):
    inspected_at = forms.DateTimeField(label="检查时间", widget=DateTimeInput(), input_formats=["%Y-%m-%dT%H:%M"])
    photo = forms.FileField(label="现场照片（JPEG/PNG，不超过 10 MB）", required=False)
    close = forms.BooleanField(label="保存并办结（办结后不能修改，只能更正）", required=False, initial=True)
    # one id per rendered form: submitting the same form twice records one inspection
    client_id = forms.UUIDField(widget=forms.HiddenInput, required=False)

    field_order = ["inspected_at"]

    def __init__(self, *args, with_close=True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_close:
            del self.fields["close"]
        self.fields["client_id"].initial = uuid.uuid4()
        self.fields["inspected_at"].initial = timezone.localtime().replace(second=0, microsecond=0)


class CorrectionForm(FindingsForm):
    reason = forms.CharField(label="更正原因", max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("coal_present", "rectification_ordered", "rectification_deadline"):
            del self.fields[name]


class ExtendForm(StyledForm):
    new_deadline = forms.DateField(label="新期限", widget=DateInput())
    reason = forms.CharField(label="延期原因", max_length=200)


class CampaignForm(StyledForm):
    title = forms.CharField(label="名称", max_length=100)
    period_start = forms.DateField(label="开始日期", widget=DateInput())
    period_end = forms.DateField(label="结束日期", widget=DateInput())
    mode = forms.ChoiceField(label="复查范围", choices=Campaign.Mode.choices, widget=forms.RadioSelect)
    cutoff = forms.DateField(label="问题起算日（按台账问题生成时必填）", required=False, widget=DateInput())
    kinds = forms.MultipleChoiceField(label="点位类型（按类型生成时必选）", choices=Place.Kind.choices, required=False,
                                      widget=forms.CheckboxSelectMultiple)
    streets = forms.ModelMultipleChoiceField(label="街道（不选即全部街道）", queryset=OrgUnit.objects.none(),
                                             required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, streets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["streets"].queryset = streets if streets is not None else OrgUnit.objects.none()
        for name in ("mode", "kinds", "streets"):
            self.fields[name].widget.attrs["class"] = "form-check-input"


class AssignForm(StyledForm):
    assignee = forms.ModelChoiceField(label="分派给", queryset=None, required=False, empty_label="（不指定）")

    def __init__(self, *args, people=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = people


class BatchForm(StyledForm):
    title = forms.CharField(label="通告标题", max_length=200)
    count = forms.IntegerField(label="份数", min_value=1)
    source = forms.CharField(label="来文单位", max_length=100)
    received_on = forms.DateField(label="收到日期", widget=DateInput())


class AllocationForm(StyledForm):
    street = UnitChoice(label="街道", queryset=OrgUnit.objects.none())
    count = forms.IntegerField(label="分配份数", min_value=0)

    def __init__(self, *args, streets=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets if streets is not None else OrgUnit.objects.none()


class PostingForm(StyledForm):
    unit = UnitChoice(label="社区/楼院", queryset=OrgUnit.objects.none())
    count = forms.IntegerField(label="张贴份数", min_value=1)
    location = forms.CharField(label="张贴位置", max_length=100)
    posted_on = forms.DateField(label="张贴日期", widget=DateInput())
    photo = forms.FileField(label="张贴照片（JPEG/PNG，不超过 10 MB）", required=False)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()
        self.fields["posted_on"].initial = timezone.localdate()


class OfficeForm(StyledForm):
    department = forms.ModelChoiceField(label="散煤办（部门）", queryset=OrgUnit.objects.none())

    def __init__(self, *args, departments=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments if departments is not None else OrgUnit.objects.none()
