"""Forms of the campaign's organisation pages and the upward report: input shape only."""

from django import forms

from govdesk.core.forms import DateInput, StyledForm

from .models import Team


class UnitChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class ReportForm(StyledForm):
    period = forms.ChoiceField(label="报送周期", choices=[("week", "周报"), ("month", "月报")])
    day = forms.DateField(label="统计截止日期", widget=DateInput(), required=False)


class TeamForm(StyledForm):
    unit = UnitChoice(label="所属单位", queryset=None)
    kind = forms.ChoiceField(label="类型", choices=Team.Kind.choices)
    name = forms.CharField(label="名称", max_length=100)
    duty = forms.CharField(label="职责", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class MemberForm(StyledForm):
    name = forms.CharField(label="姓名", max_length=50)
    position = forms.CharField(label="职务/分工", max_length=50, required=False)
    leader = forms.BooleanField(label="组长", required=False)


class OfficeForm(StyledForm):
    street = UnitChoice(label="街道", queryset=None)
    address = forms.CharField(label="办公地点", max_length=200)
    office_phone = forms.CharField(label="办公电话", max_length=20, required=False)
    liaison = UserChoice(label="联络员", queryset=None)

    def __init__(self, *args, streets, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["street"].queryset = streets
        self.fields["liaison"].queryset = people


class TrainingForm(StyledForm):
    unit = UnitChoice(label="主办单位", queryset=None)
    title = forms.CharField(label="培训主题", max_length=100)
    held_on = forms.DateField(label="日期", widget=DateInput())
    place = forms.CharField(label="地点", max_length=100)
    trainer = forms.CharField(label="授课人", max_length=50, required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class AttendanceForm(StyledForm):
    unit = UnitChoice(label="所在单位", queryset=None)
    names = forms.CharField(label="参训人员（每行一个姓名，可直接粘贴名单）", widget=forms.Textarea(attrs={"rows": 5}))

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class QuestionForm(StyledForm):
    unit = UnitChoice(label="登记单位", queryset=None)
    question = forms.CharField(label="问题", widget=forms.Textarea(attrs={"rows": 3}))
    asked_by = forms.CharField(label="提问人", max_length=100, help_text="如：建设路街道采集员、退役士兵家属（电话咨询）")
    topic = forms.CharField(label="分类", max_length=32, required=False, help_text="如：采集范围、材料、预约")
    answer = forms.CharField(label="解答", widget=forms.Textarea(attrs={"rows": 4}), required=False)
    publish = forms.BooleanField(label="列入常见问题", required=False)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units


class AnswerForm(StyledForm):
    answer = forms.CharField(label="解答", widget=forms.Textarea(attrs={"rows": 5}))
    publish = forms.BooleanField(label="列入常见问题", required=False)
