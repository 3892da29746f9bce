"""REST API for an integration's own webhooks: subscriptions, the delivery log, redelivery."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from branches.access import IntegrationPrincipal, is_chain_admin
from common.api.serializers import StrictSerializer
from common.api.views import scoped_get
from crm.models import ApiKey, Event, Integration, WebhookDelivery, WebhookSubscription
from crm.services import api_key_prefix, api_key_rotate
from crm.webhook_targets import webhook_url_problem
from crm.webhooks import (
    PAYLOADS,
    webhook_delivery_redeliver,
    webhook_subscription_delete,
    webhook_subscription_rotate_secret,
)

SCOPES = {"read": "webhooks:manage", "write": "webhooks:manage"}


class SubscriptionSerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    url = serializers.URLField(max_length=500)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=Event.choices), min_length=1
    )
    is_active = serializers.BooleanField(default=True)
    created_at = serializers.DateTimeField(read_only=True)

    def validate_url(self, url: str) -> str:
        """Only public http(s) addresses, no credentials: the CRM makes these requests."""
        problem = webhook_url_problem(url)
        if problem:
            raise serializers.ValidationError(problem)
        return url

    def validate_events(self, events: list[str]) -> list[str]:
        """An integration hears only of what its scopes let it read: asking for more is a
        mistake to report now, not a subscription that stays silent."""
        scopes = self.context.get("scopes")
        if scopes is not None:
            missing = sorted({PAYLOADS[e.split(".")[0]][1] for e in events} - set(scopes))
            if missing:
                raise serializers.ValidationError(
                    f"These events need the scope {', '.join(missing)}, "
                    "which this integration's keys lack."
                )
        return events


SIGNING_KEY_HELP = (
    "Signs every delivery (HMAC-SHA256): store it now to verify them. It is shown only "
    "here; `POST …/rotate-secret/` makes a new one."
)


class SubscriptionCreatedSerializer(SubscriptionSerializer):
    """A new subscription, with its signing secret: the only time it is shown."""

    secret = serializers.CharField(read_only=True, help_text=SIGNING_KEY_HELP)


class SecretSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The subscription.")
    secret = serializers.CharField(help_text=SIGNING_KEY_HELP)


class AttemptSerializer(serializers.Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    error = serializers.CharField()
    duration_ms = serializers.IntegerField()


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subscription = serializers.IntegerField(source="subscription_id")
    event_type = serializers.CharField(source="event.event_type")
    event_id = serializers.IntegerField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    log = AttemptSerializer(many=True)


def _subscriptions(request: Request, *, deleted_too: bool = False) -> QuerySet[WebhookSubscription]:
    """The caller's subscriptions; deleted ones only for their delivery log."""
    user = request.user
    if isinstance(user, IntegrationPrincipal):
        subscriptions = WebhookSubscription.objects.filter(integration_id=user.integration_id)
    elif is_chain_admin(user):
        subscriptions = WebhookSubscription.objects.all()
    else:
        raise exceptions.PermissionDenied("Webhooks belong to integrations and HQ admins.")
    return subscriptions if deleted_too else subscriptions.filter(deleted_at__isnull=True)


def _owner(request: Request) -> Integration:
    user = request.user
    if not isinstance(user, IntegrationPrincipal):
        raise exceptions.PermissionDenied("Subscribe with the integration's API key.")
    return Integration.objects.get(pk=user.integration_id)


class SubscriptionListApi(APIView):
    required_scopes = SCOPES

    @extend_schema(responses=SubscriptionSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(SubscriptionSerializer(_subscriptions(request), many=True).data)

    @extend_schema(request=SubscriptionSerializer, responses={201: SubscriptionCreatedSerializer})
    def post(self, request: Request) -> Response:
        owner = _owner(request)
        data = SubscriptionSerializer(data=request.data, context={"scopes": owner.scopes})
        data.is_valid(raise_exception=True)
        subscription = WebhookSubscription.objects.create(integration=owner, **data.validated_data)
        return Response(
            SubscriptionCreatedSerializer(subscription).data, status=status.HTTP_201_CREATED
        )


class SubscriptionDetailApi(APIView):
    required_scopes = SCOPES

    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(SubscriptionSerializer(scoped_get(_subscriptions(request), pk=pk)).data)

    @extend_schema(request=SubscriptionSerializer, responses=SubscriptionSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        subscription = scoped_get(_subscriptions(request).select_related("integration"), pk=pk)
        scopes = subscription.integration.scopes
        data = SubscriptionSerializer(data=request.data, partial=True, context={"scopes": scopes})
        data.is_valid(raise_exception=True)
        for field, value in data.validated_data.items():
            setattr(subscription, field, value)
        subscription.save()
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Stop the subscription: nothing more is sent to it; its delivery log stays."""
        webhook_subscription_delete(subscription=scoped_get(_subscriptions(request), pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionRotateSecretApi(APIView):
    """A new signing secret for the subscription, shown once in the answer. Deliveries from
    now on (retries too) are signed with it; the old secret stops verifying at once, and a
    delivery the receiver refuses meanwhile is retried with back-off."""

    required_scopes = SCOPES

    @extend_schema(request=None, responses={200: SecretSerializer})
    def post(self, request: Request, pk: int) -> Response:
        subscription = scoped_get(_subscriptions(request), pk=pk)
        secret = webhook_subscription_rotate_secret(subscription=subscription)
        return Response({"id": subscription.pk, "secret": secret})


def _deliveries(request: Request) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(subscription__in=_subscriptions(request, deleted_too=True))
        .select_related("event")
        .prefetch_related("log")
    )


class DeliveryListApi(APIView):
    """The delivery log, newest first: attempts, status codes, next try."""

    required_scopes = SCOPES

    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request: Request) -> Response:
        deliveries = _deliveries(request)
        if state := request.query_params.get("status"):
            deliveries = deliveries.filter(status=state)
        return Response(DeliverySerializer(deliveries[:200], many=True).data)


class DeliveryDetailApi(APIView):
    required_scopes = SCOPES

    @extend_schema(responses=DeliverySerializer)
    def get(self, request: Request, pk: int) -> Response:
        return Response(DeliverySerializer(scoped_get(_deliveries(request), pk=pk)).data)


class DeliveryRedeliverApi(APIView):
    """Send a delivery again now, whatever happened to it before."""

    required_scopes = SCOPES

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request: Request, pk: int) -> Response:
        delivery = webhook_delivery_redeliver(delivery=scoped_get(_deliveries(request), pk=pk))
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class IntegrationSelfSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    branches = serializers.ListField(child=serializers.CharField(), allow_null=True)


class IntegrationSelfApi(APIView):
    """Who this API key is: its integration, scopes and branch limits (any key may ask)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(responses=IntegrationSelfSerializer)
    def get(self, request: Request) -> Response:
        user = request.user
        if not isinstance(user, IntegrationPrincipal):
            raise exceptions.PermissionDenied("Only API keys have an integration.")
        integration = Integration.objects.get(pk=user.integration_id)
        codes = list(integration.branches.values_list("code", flat=True))
        return Response(
            {
                "id": integration.pk,
                "name": integration.name,
                "scopes": integration.scopes,
                "branches": codes or None,
            }
        )


class RotatedKeySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The new key: shown once, store it now.")
    expires_at = serializers.DateTimeField(allow_null=True)
    previous_key_expires_at = serializers.DateTimeField(
        help_text="The key this request used keeps working until then."
    )


class ApiKeyRotateApi(APIView):
    """Rotate the API key this request is made with: the answer holds a new key, and the
    old one keeps working for the grace period (API_KEY_ROTATION_GRACE_HOURS)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: RotatedKeySerializer})
    def post(self, request: Request) -> Response:
        if not isinstance(request.user, IntegrationPrincipal):
            raise exceptions.PermissionDenied("Only an API key can rotate itself.")
        current = ApiKey.objects.get(prefix=api_key_prefix(str(request.auth)))
        new_key, key = api_key_rotate(api_key=current)
        current.refresh_from_db()
        return Response(
            {
                "key": key,
                "expires_at": new_key.expires_at,
                "previous_key_expires_at": current.expires_at,
            },
            status=status.HTTP_201_CREATED,
        )


urlpatterns = [
    path("integration/", IntegrationSelfApi.as_view(), name="integration-self"),
    path("integration/key/rotate/", ApiKeyRotateApi.as_view(), name="api-key-rotate"),
    path(
        "webhooks/subscriptions/", SubscriptionListApi.as_view(), name="webhook-subscription-list"
    ),
    path(
        "webhooks/subscriptions/<int:pk>/",
        SubscriptionDetailApi.as_view(),
        name="webhook-subscription-detail",
    ),
    path(
        "webhooks/subscriptions/<int:pk>/rotate-secret/",
        SubscriptionRotateSecretApi.as_view(),
        name="webhook-subscription-rotate-secret",
    ),
    path("webhooks/deliveries/", DeliveryListApi.as_view(), name="webhook-delivery-list"),
    path(
        "webhooks/deliveries/<int:pk>/", DeliveryDetailApi.as_view(), name="webhook-delivery-detail"
    ),
    path(
        "webhooks/deliveries/<int:pk>/redeliver/",
        DeliveryRedeliverApi.as_view(),
        name="webhook-delivery-redeliver",
    ),
]
