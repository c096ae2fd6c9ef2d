"""API representations of corpora, documents, pages and faces."""

from rest_framework import serializers

from annotations.models import Corpus, Document, Face, Page


class CorpusSerializer(serializers.ModelSerializer):
    class Meta:
        model = Corpus
        fields = ["id", "name", "description", "is_public", "created_at"]


class DocumentSerializer(serializers.ModelSerializer):
    corpus_name = serializers.CharField(source="corpus.name", read_only=True)
    page_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Document
        fields = [
            "id",
            "corpus",
            "corpus_name",
            "source",
            "manifest_url",
            "iiif_version",
            "label",
            "summary",
            "metadata",
            "date_text",
            "date_start",
            "date_end",
            "attribution",
            "license",
            "related_url",
            "thumbnail_url",
            "import_status",
            "import_error",
            "import_report",
            "import_started_at",
            "import_finished_at",
            "page_count",
            "created_at",
        ]


class DocumentImportInputSerializer(serializers.Serializer):
    source = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    corpus = serializers.CharField(max_length=200, required=False, default="Default")
    upload = serializers.FileField(required=False)

    def validate(self, attrs):
        if not attrs.get("source") and not attrs.get("upload"):
            raise serializers.ValidationError("Give a source (URL, ARK, file or folder) or upload a zip of images")
        return attrs


class PageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Page
        fields = [
            "id",
            "document",
            "order",
            "canvas_id",
            "label",
            "width",
            "height",
            "image_url",
            "image_service_id",
            "image_service_version",
            "is_front_page",
            "face_count",
            "female_count",
            "male_count",
            "child_count",
            "unknown_count",
            "review_status",
            "reviewed_by",
            "reviewed_at",
        ]


class PageReviewInputSerializer(serializers.Serializer):
    review_status = serializers.ChoiceField(choices=Page._meta.get_field("review_status").choices)


class FaceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Face
        fields = [
            "id",
            "page",
            "x",
            "y",
            "w",
            "h",
            "confidence",
            "age",
            "age_confidence",
            "gender",
            "gender_confidence",
            "child",
            "status",
            "source",
            "person",
            "version",
            "created_at",
            "updated_at",
        ]
