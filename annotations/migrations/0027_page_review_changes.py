"""A page's review status changes, recorded as a face's are: who, when, before, after."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('annotations', '0026_export_error_message'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PageReviewChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('before', models.CharField(choices=[('unreviewed', 'Unreviewed'), ('in_review', 'In review'), ('reviewed', 'Reviewed')], max_length=10)),
                ('after', models.CharField(choices=[('unreviewed', 'Unreviewed'), ('in_review', 'In review'), ('reviewed', 'Reviewed')], max_length=10)),
                ('page', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='review_changes', to='annotations.page')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['page', '-created_at'], name='page_review_change_time_idx')],
                'constraints': [models.CheckConstraint(condition=models.Q(('before__in', ['unreviewed', 'in_review', 'reviewed']), ('after__in', ['unreviewed', 'in_review', 'reviewed']), models.Q(('before', models.F('after')), _negated=True)), name='page_review_change_valid')],
            },
        ),
    ]
