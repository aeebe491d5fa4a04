from django import forms

from .models import OrgUnit
from .reach import Role


class DateInput(forms.DateInput):
    """A browser date picker that also shows its initial value (under zh-hans Django would
    render the date in a format the picker does not read)."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class StyledForm(forms.Form):
    """Bootstrap classes on every widget, so templates render ``{{ field }}`` as is."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput,)):
                css = "form-check-input"
            elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)


class LoginForm(StyledForm):
    username = forms.CharField(label="用户名", max_length=150)
    password = forms.CharField(label="密码", widget=forms.PasswordInput)


class UnitForm(StyledForm):
    kind = forms.ChoiceField(label="类型", choices=OrgUnit.Kind.choices)
    code = forms.CharField(label="编码", max_length=32)
    name = forms.CharField(label="名称", max_length=100)


class RenameForm(StyledForm):
    name = forms.CharField(label="新名称", max_length=100)


class MoveForm(StyledForm):
    new_parent = forms.ModelChoiceField(label="新的上级单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args, parents=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_parent"].queryset = parents if parents is not None else OrgUnit.objects.none()


class UserCreateForm(StyledForm):
    username = forms.CharField(label="用户名", max_length=150)
    display_name = forms.CharField(label="姓名", max_length=50)
    phone = forms.CharField(label="手机号", max_length=20, required=False)
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput)
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    unit = forms.ModelChoiceField(label="所属单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()


class MembershipForm(StyledForm):
    role = forms.ChoiceField(label="角色", choices=Role.choices)
    unit = forms.ModelChoiceField(label="单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()


class PasswordChangeForm(StyledForm):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput)
    new_password = forms.CharField(label="新密码", widget=forms.PasswordInput)
    new_password2 = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", "两次输入的新密码不一致")
        return data


class TokenForm(StyledForm):
    name = forms.CharField(label="令牌名称", max_length=100)


class WebhookForm(StyledForm):
    name = forms.CharField(label="名称", max_length=100)
    url = forms.CharField(label="地址（如企业微信群机器人）", max_length=500)
    unit = forms.ModelChoiceField(label="单位", queryset=OrgUnit.objects.none())

    def __init__(self, *args, units=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units if units is not None else OrgUnit.objects.none()


class ImportForm(StyledForm):
    file = forms.FileField(label="Excel 或 CSV 文件", help_text="支持 xlsx、xls、csv（UTF-8 或 GBK）；先试运行，确认无误后再正式导入")
    mode = forms.ChoiceField(label="正式导入时", initial="all", choices=[
        ("all", "全部通过才导入（有一行错误就全部不导入）"), ("valid", "只导入正确的行")])


class CommitForm(StyledForm):
    mode = forms.ChoiceField(label="导入方式", initial="all", choices=ImportForm.base_fields["mode"].choices)
