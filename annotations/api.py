"""REST endpoints for corpora, documents and pages (thin: parse, call one service, serialise)."""

from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors
from annotations.access import corpora_visible_to, get_document_for_user, get_page_for_user
from annotations.importing import ImportFailed, document_import_from_input
from annotations.models import CorpusRole
from annotations.serializers import (
    CorpusSerializer,
    DocumentImportInputSerializer,
    DocumentSerializer,
    PageReviewInputSerializer,
    PageSerializer,
)
from annotations.services import page_set_review_status


class CorpusListApi(generics.ListAPIView):
    serializer_class = CorpusSerializer

    def get_queryset(self):
        return corpora_visible_to(self.request.user).order_by("name")


class DocumentListCreateApi(generics.ListAPIView):
    """List documents; POST queues an import (source URL / ARK / path, or a zip upload)."""

    serializer_class = DocumentSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        corpus = self.request.query_params.get("corpus")
        return selectors.document_list(
            user=self.request.user, corpus_id=int(corpus) if corpus and corpus.isdigit() else None
        )

    def post(self, request):
        payload = DocumentImportInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            document = document_import_from_input(
                user=request.user,
                corpus_name=payload.validated_data["corpus"],
                source=payload.validated_data.get("source", ""),
                upload=payload.validated_data.get("upload"),
            )
        except ImportFailed as exc:
            raise ValidationError({"source": [str(exc)]}) from exc
        document = get_document_for_user(request.user, document.pk)
        return Response(DocumentSerializer(document).data, status=status.HTTP_202_ACCEPTED)


class DocumentDetailApi(APIView):
    def get(self, request, pk: int):
        document = selectors.document_list(user=request.user).filter(pk=pk).first()
        if document is None:
            get_document_for_user(request.user, pk)
        return Response(DocumentSerializer(document).data)


class PageListApi(generics.ListAPIView):
    serializer_class = PageSerializer

    def get_queryset(self):
        document = self.request.query_params.get("document")
        return selectors.page_list(
            user=self.request.user, document_id=int(document) if document and document.isdigit() else None
        )


class PageDetailApi(APIView):
    permission_classes = [IsAuthenticatedOrReadOnly]

    def get(self, request, pk: int):
        return Response(PageSerializer(get_page_for_user(request.user, pk)).data)

    def patch(self, request, pk: int):
        page = get_page_for_user(request.user, pk, CorpusRole.CURATOR)
        payload = PageReviewInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        page = page_set_review_status(page=page, status=payload.validated_data["review_status"], user=request.user)
        return Response(PageSerializer(page).data)

