from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('subscribers', '0003_list_indexes'),
    ]

    operations = [
        migrations.AddField(
            model_name='subscriber',
            name='ip_pool_name',
            field=models.CharField(blank=True, db_default='', default='', help_text="Address pool for this subscriber: a pool of Networking or one defined on the NAS. Empty: the plan's pool. A static IPv4 address wins over both.", max_length=64, verbose_name='IP pool'),
        ),
    ]
