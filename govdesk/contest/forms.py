from decimal import Decimal

from django import forms

from govdesk.core.forms import StyledForm
from govdesk.core.models import OrgUnit

from .models import Competition, Event, Judge, RubricItem

DATE = forms.DateInput(attrs={"type": "date"})


class CompetitionForm(StyledForm):
    unit = forms.ModelChoiceField(label="主办单位", queryset=OrgUnit.objects.none())
    name = forms.CharField(label="竞赛名称", max_length=120)
    co_organisers = forms.CharField(label="协办单位", max_length=200, required=False,
                                    help_text="如：区总工会、区妇联")
    starts_on = forms.DateField(label="开始日期", widget=DATE)
    ends_on = forms.DateField(label="结束日期", widget=DATE)
    venue = forms.CharField(label="地点", max_length=120)
    show_codes = forms.BooleanField(label="评委只看到选手编号（不显示姓名和单位）", required=False, initial=True)
    board_mode = forms.ChoiceField(label="成绩公布前大屏显示", choices=Competition.Board.choices,
                                   initial=Competition.Board.PROGRESS)
    appeal_hours = forms.IntegerField(label="成绩公布后可申请复核的时限（小时）", min_value=0, max_value=720,
                                      initial=24)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        if units is None:
            del self.fields["unit"]
        else:
            self.fields["unit"].queryset = units


class EventForm(StyledForm):
    name = forms.CharField(label="项目名称", max_length=120)
    order = forms.IntegerField(label="序号", min_value=1, max_value=99, initial=1)
    time_limit_seconds = forms.IntegerField(label="操作限时（秒）", min_value=30, max_value=7200, initial=600)
    overtime_per_minute = forms.DecimalField(label="超时每分钟扣分（不足一分钟按一分钟计）", min_value=0,
                                             max_digits=5, decimal_places=2, initial=Decimal("1"))
    method = forms.ChoiceField(label="实操计分方法", choices=Event.Method.choices)
    written_weight = forms.DecimalField(label="笔试权重（实操权重为 1 减此值）", min_value=0, max_value=1,
                                        max_digits=3, decimal_places=2, initial=Decimal("0.50"))
    advance_count = forms.IntegerField(label="每项目晋级实操人数", min_value=1, max_value=100, initial=3)
    tie_rule = forms.ChoiceField(label="晋级线并列时", choices=Event.TieRule.choices)


class ItemForm(StyledForm):
    title = forms.CharField(label="评分项目", max_length=200)
    part = forms.ChoiceField(label="部分", choices=RubricItem.Part.choices)
    max_points = forms.DecimalField(label="满分", min_value=Decimal("0.5"), max_digits=5, decimal_places=1)
    step = forms.DecimalField(label="计分步长", min_value=Decimal("0.1"), max_digits=4, decimal_places=1,
                              initial=Decimal("0.5"))
    critical = forms.BooleanField(label="一票否决项", required=False)
    effect = forms.ChoiceField(label="否决效果", required=False,
                               choices=[("", "—"), ("cap", "总分封顶"), ("zero", "总分记零")])
    cap_points = forms.DecimalField(label="封顶分", required=False, max_digits=5, decimal_places=1)


class ContestantForm(StyledForm):
    name = forms.CharField(label="选手姓名", max_length=50)
    institution = forms.ModelChoiceField(label="所在机构", queryset=OrgUnit.objects.none())
    events = forms.ModelMultipleChoiceField(label="参赛项目", queryset=Event.objects.none(),
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, institutions, events, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions
        self.fields["events"].queryset = events
        self.fields["events"].widget.attrs["class"] = "form-check-input"


class JudgeForm(StyledForm):
    user = forms.ModelChoiceField(label="评委", queryset=None)
    institution = forms.ModelChoiceField(label="所在机构（用于回避）", queryset=OrgUnit.objects.none(),
                                         required=False)

    def __init__(self, *args, users, institutions, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = users
        self.fields["user"].label_from_instance = lambda u: f"{u.label}（{u.username}）"
        self.fields["institution"].queryset = institutions


class PanelForm(StyledForm):
    judges = forms.ModelMultipleChoiceField(label="本项目评委", queryset=Judge.objects.none(),
                                            widget=forms.CheckboxSelectMultiple, required=False)
    chief = forms.ModelChoiceField(label="评委组长", queryset=Judge.objects.none(), required=False)

    def __init__(self, *args, judges, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["judges"].queryset = judges
        self.fields["judges"].widget.attrs["class"] = "form-check-input"
        self.fields["chief"].queryset = judges


class DrawForm(StyledForm):
    seed = forms.IntegerField(label="抽签种子（留空则随机生成并记录）", required=False, min_value=0)


class ReasonForm(StyledForm):
    reason = forms.CharField(label="理由", max_length=300, widget=forms.Textarea(attrs={"rows": 2}))


class EnterForm(StyledForm):
    event = forms.ModelChoiceField(label="参赛项目", queryset=Event.objects.none())

    def __init__(self, *args, events, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["event"].queryset = events
