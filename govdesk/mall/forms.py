from django import forms

from govdesk.core.forms import StyledForm
from govdesk.core.models import OrgUnit

from .models import Admission, Category, Flag, Sanction, UnitBudget


class CategoryForm(StyledForm):
    code = forms.CharField(label="品目编码", max_length=32)
    name = forms.CharField(label="品目名称", max_length=100)
    is_mall = forms.BooleanField(label="商城品目", required=False, initial=True)
    is_encouraged = forms.BooleanField(label="鼓励品目", required=False)
    single_limit = forms.DecimalField(label="单次采购限额（元）", max_digits=14, decimal_places=2, initial=500000)
    annual_limit = forms.DecimalField(label="年度累计限额（元，每单位，可不填）", max_digits=14, decimal_places=2,
                                      required=False)


class ProductForm(StyledForm):
    category = forms.ModelChoiceField(label="品目", queryset=Category.objects.none())
    name = forms.CharField(label="商品名称", max_length=200)
    brand = forms.CharField(label="品牌", max_length=100, required=False)
    model = forms.CharField(label="型号", max_length=100, required=False)
    unit = forms.CharField(label="计量单位", max_length=16, initial="件")
    specs = forms.CharField(label="规格参数", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories if categories is not None else Category.objects.none()


class ReferencePriceForm(StyledForm):
    price = forms.CharField(label="参考价（元）", max_length=20)
    observed_on = forms.DateField(label="日期", widget=forms.DateInput(attrs={"type": "date"}))
    source = forms.CharField(label="来源", max_length=100)


class OfferForm(StyledForm):
    list_price = forms.CharField(label="挂牌价（元）", max_length=20)
    stock = forms.IntegerField(label="库存", min_value=0)


class AdmissionApplyForm(StyledForm):
    category = forms.ModelChoiceField(label="品目", queryset=Category.objects.none())
    documents = forms.CharField(label="申请材料说明", widget=forms.Textarea(attrs={"rows": 3}), required=False)

    def __init__(self, *args, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = categories if categories is not None else Category.objects.none()


class AdmissionDecideForm(StyledForm):
    status = forms.ChoiceField(label="决定", choices=[(s, label) for s, label in Admission.Status.choices
                                                      if s != Admission.Status.APPLIED])
    reason = forms.CharField(label="理由", max_length=200, required=False)


class SanctionForm(StyledForm):
    supplier = forms.ModelChoiceField(label="供应商", queryset=OrgUnit.objects.none())
    kind = forms.ChoiceField(label="类型", choices=Sanction.Kind.choices)
    category = forms.ModelChoiceField(label="品目（可不选）", queryset=Category.objects.none(), required=False)
    reason = forms.CharField(label="事由", max_length=300)
    decided_on = forms.DateField(label="决定日期", required=False)
    file = forms.FileField(label="处罚决定书（PDF/JPG/PNG，可不传）", required=False)

    def __init__(self, *args, suppliers=None, categories=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = suppliers if suppliers is not None else OrgUnit.objects.none()
        self.fields["category"].queryset = categories if categories is not None else Category.objects.none()


class FlagReviewForm(StyledForm):
    status = forms.ChoiceField(label="处理", choices=[(s, label) for s, label in Flag.Status.choices if s != "open"])
    note = forms.CharField(label="核查意见", widget=forms.Textarea(attrs={"rows": 3}), required=False)


class PolicyForm(StyledForm):
    listing_markup_pct = forms.DecimalField(label="挂牌价高于参考价上限（%）", min_value=0, decimal_places=2)
    price_flag_pct = forms.DecimalField(label="成交价高于参考价预警（%）", min_value=0, decimal_places=2)
    split_window_days = forms.IntegerField(label="拆单识别窗口（天）", min_value=1)
    cluster_pct = forms.DecimalField(label="贴近限额幅度（%）", min_value=0, max_value=100, decimal_places=2)
    cluster_count = forms.IntegerField(label="贴近限额笔数", min_value=2)
    share_pct = forms.DecimalField(label="单一供应商占比预警（%）", min_value=0, decimal_places=2)
    share_min_total = forms.DecimalField(label="占比规则起算金额（元）", min_value=0, decimal_places=2)
    frequent_days = forms.IntegerField(label="频繁下单窗口（天）", min_value=1)
    frequent_count = forms.IntegerField(label="频繁下单笔数上限", min_value=1)
    autocancel_days = forms.IntegerField(label="供应商确认时限（天）", min_value=1)
    negotiation_days = forms.IntegerField(label="议价有效期（天）", min_value=1)


class BudgetForm(StyledForm):
    unit = forms.ModelChoiceField(label="单位", queryset=OrgUnit.objects.none())
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    amount = forms.DecimalField(label="预算金额（元）", min_value=0, decimal_places=2)
    mode = forms.ChoiceField(label="超预算处理", choices=UnitBudget.Mode.choices)

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
