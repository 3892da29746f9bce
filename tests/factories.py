"""factory_boy factories; tests that exercise behaviour go through the real services."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from branches.models import Branch, Region, Role, User
from customers.models import Channel, Customer
from interactions.models import Interaction, Moment, Outcome, ServiceCycle


class RegionFactory(factory.django.DjangoModelFactory[Region]):
    class Meta:
        model = Region

    code = factory.Sequence(lambda n: f"region-{n}")
    name = factory.Sequence(lambda n: f"Region {n}")


class BranchFactory(factory.django.DjangoModelFactory[Branch]):
    class Meta:
        model = Branch

    region = factory.SubFactory(RegionFactory)
    code = factory.Sequence(lambda n: f"br-{n:03d}")
    name = factory.Sequence(lambda n: f"Branch {n}")
    timezone = "Europe/Berlin"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    role = Role.AGENT
    is_staff = True
    password = factory.django.Password("secret-pass-123")

    # post_generation hooks receive the built User, not the factory.
    @factory.post_generation
    def branches(
        user: User, create: bool, extracted: list[Branch] | None, **kwargs: object
    ) -> None:
        if create and extracted:
            user.branches.set(extracted)

    @factory.post_generation
    def regions(user: User, create: bool, extracted: list[Region] | None, **kwargs: object) -> None:
        if create and extracted:
            user.regions.set(extracted)


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")


class ServiceCycleFactory(factory.django.DjangoModelFactory[ServiceCycle]):
    class Meta:
        model = ServiceCycle

    code = factory.Sequence(lambda n: f"cycle-{n}")
    name = factory.Sequence(lambda n: f"Cycle {n}")


class MomentFactory(factory.django.DjangoModelFactory[Moment]):
    class Meta:
        model = Moment

    cycle = factory.SubFactory(ServiceCycleFactory)
    position = factory.Sequence(lambda n: n + 1)
    name = factory.Sequence(lambda n: f"Moment {n}")


class InteractionFactory(factory.django.DjangoModelFactory[Interaction]):
    class Meta:
        model = Interaction

    branch = factory.SubFactory(BranchFactory)
    customer = factory.SubFactory(CustomerFactory)
    channel = Channel.PHONE
    occurred_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    wait_seconds = 20
    handle_seconds = 180
    outcome = Outcome.RESOLVED
