from django.db import migrations
from pypinyin import Style, lazy_pinyin


def _initials(text: str) -> str:
    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER)).lower()


def by_name_too(apps, schema_editor):
    """Products' initials become "<name's> <brand and name's>" (services.product_initials), so
    a pinyin search by the name alone finds branded products."""
    Product = apps.get_model("mall", "Product")
    changed = []
    for product in Product.objects.only("pk", "brand", "name", "initials").iterator(chunk_size=2000):
        words = [_initials(product.name)] + ([_initials(f"{product.brand}{product.name}")] if product.brand else [])
        initials = " ".join(words)[:200]
        if initials != product.initials:
            product.initials = initials
            changed.append(product)
    Product.objects.bulk_update(changed, ["initials"], batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ("mall", "0010_line_reference"),
    ]

    operations = [
        migrations.RunPython(by_name_too, migrations.RunPython.noop),
    ]
