"""The investment desk's main journey in a real browser: assess a firm, move its project through the
pipeline with the agreement upload, record an appeal, open the weekly meeting agenda and assign a task,
correct the project and download its pitch sheet as a PDF."""

import pytest
from playwright.sync_api import expect

from govdesk.conftest import PASSWORD, build_world

from .conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_officer_assesses_a_firm_lands_its_project_and_assigns_a_task(new_page, tmp_path, settings):
    from govdesk.invest import services
    from govdesk.invest.models import HqGroup, Industry, Project, Task

    settings.MEDIA_ROOT = tmp_path / "files"
    world = build_world()
    officer = world.dept_officer
    services.office_configure(actor=world.admin, lead_unit=world.department)
    squad = services.squad_create(actor=officer, unit=world.department, name="长三角小分队", region="yrd")
    firm = services.firm_create(actor=officer, unit=world.department, name="苏州远景智能家居有限公司",
                                industry=Industry.objects.get(code="urban-furnishing"), region="yrd", squad=squad)
    project = services.project_create(actor=officer, unit=world.department, firms=[firm], name="智能家居产业园",
                                      industry=firm.industry, planned_investment="50000",
                                      hq_group=HqGroup.objects.get(name="招商组"), leader="王副区长")
    agreement = tmp_path / "投资协议.pdf"
    agreement.write_bytes(b"%PDF-1.4\n% the signed agreement\n")

    page = new_page()
    login(page, "dept", PASSWORD)
    expect(page.get_by_role("heading", name="区情总览")).to_be_visible()

    # assess the firm: a score without its evidence is refused, with evidence it is kept
    page.goto(f"/invest/firms/{firm.pk}/")
    page.get_by_role("link", name="开展研判").click()
    page.get_by_label("产业契合度得分").fill("90")
    page.get_by_role("button", name="保存研判").click()
    expect(page.get_by_text("「产业契合度」要先写明依据才能打分").first).to_be_visible()
    page.get_by_label("产业契合度依据").fill("属于“4+1”都市型工业家居门类")
    page.get_by_label("研判结论").select_option(label="重点跟进")
    page.get_by_role("button", name="保存研判").click()
    expect(page.get_by_text("已记录对「苏州远景智能家居有限公司」的研判")).to_be_visible()
    page.goto("/invest/assessments/")
    expect(page.get_by_role("link", name="苏州远景智能家居有限公司")).to_be_visible()

    # move its project: negotiating, then signing needs the agreement
    page.goto(f"/invest/projects/{project.pk}/")
    page.get_by_role("button", name="推进", exact=True).click()
    expect(page.locator("#project-stage")).to_have_text("洽谈")
    page.get_by_role("button", name="推进", exact=True).click()
    expect(page.get_by_text("进入「签约」阶段前，请先上传投资协议")).to_be_visible()
    page.locator("#id_kind").select_option(label="投资协议")
    page.locator("#id_file").set_input_files(str(agreement))
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_text("已上传投资协议")).to_be_visible()
    page.get_by_role("button", name="推进", exact=True).click()
    expect(page.locator("#project-stage")).to_have_text("签约")
    expect(page.get_by_role("link", name="投资协议：投资协议.pdf")).to_be_visible()

    # record the firm's appeal
    page.goto(f"/invest/firms/{firm.pk}/")
    page.get_by_role("link", name="登记诉求").click()
    page.get_by_label("类别").select_option(label="用地")
    page.get_by_label("诉求事项").fill("协调 30 亩工业用地")
    page.get_by_label("具体内容").fill("二期厂房需要用地指标")
    page.get_by_label("紧急程度").select_option(label="紧急")
    page.get_by_label("责任工作组").select_option(label="土地规划组")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已登记诉求")).to_be_visible()
    expect(page.locator("#appeal-status")).to_have_text("待办理")

    # the weekly meeting: its agenda lists the open appeal; assign a task from it
    page.get_by_role("link", name="周例会").click()
    page.get_by_role("button", name="生成议程").click()
    expect(page.get_by_role("heading", name="会议议程")).to_be_visible()
    row = page.locator("tr", has_text="协调 30 亩工业用地")
    row.get_by_role("link", name="交办").click()
    expect(page.get_by_text("交办：诉求「协调 30 亩工业用地」")).to_be_visible()
    page.get_by_label("责任人").select_option(label="officer_a")
    page.get_by_role("button", name="交办", exact=True).click()
    expect(page.get_by_text("已交办给 officer_a")).to_be_visible()
    expect(page.locator("#decided")).to_contain_text("officer_a")

    # correct the project's particulars, then take its pitch sheet (项目包装) away as a PDF
    page.goto(f"/invest/projects/{project.pk}/")
    page.get_by_role("link", name="修改项目信息").click()
    page.get_by_label("责任领导").fill("李副区长")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("项目信息已保存")).to_be_visible()
    page.get_by_role("link", name="项目包装").click()
    expect(page.get_by_role("heading", name="智能家居产业园")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载 PDF").click()
    assert download.value.suggested_filename == "项目包装-智能家居产业园.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"

    assert Project.objects.get(pk=project.pk).stage == "signed"
    assert Project.objects.get(pk=project.pk).leader == "李副区长"
    task = Task.objects.get()
    assert (task.owner, task.appeal.title) == (world.officer_a, "协调 30 亩工业用地")
