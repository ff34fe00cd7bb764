"""The `eventsourcing` library's own test cases (9.5), run against the real server through
``PERSISTENCE_MODULE=nerv_inner_universe.eventsourcing_module``; none is skipped or changed.

One database serves the module (`conftest.es_database`); every test gets its own stores
through a fresh ``SPACETIMEDB_STORE_PREFIX`` (`conftest.es_environment`), so each starts from
empty stores (notification id 1), as the library's SQLite and PostgreSQL cases start from new
tables.
"""

from __future__ import annotations

import os

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.tests import application as cases
from eventsourcing.tests import persistence as recorder_cases
from eventsourcing.utils import Environment, get_topic

from nerv_inner_universe.eventsourcing_module import (
    InnerUniverseAggregateRecorder,
    InnerUniverseApplicationRecorder,
    InnerUniverseFactory,
    InnerUniverseProcessRecorder,
    InnerUniverseTrackingRecorder,
)


class FactoryPerTest:
    """A factory made from the test's environment, closed after the test."""

    factory: InnerUniverseFactory

    def setUp(self) -> None:
        factory = InfrastructureFactory.construct(Environment(env=dict(os.environ)))
        assert isinstance(factory, InnerUniverseFactory)
        self.factory = factory
        super().setUp()  # type: ignore[misc]

    def tearDown(self) -> None:
        super().tearDown()  # type: ignore[misc]
        self.factory.close()


class TestAggregateRecorder(FactoryPerTest, recorder_cases.AggregateRecorderTestCase):
    def create_recorder(self) -> InnerUniverseAggregateRecorder:
        recorder = self.factory.aggregate_recorder()
        assert isinstance(recorder, InnerUniverseAggregateRecorder)
        return recorder


class TestApplicationRecorder(FactoryPerTest, recorder_cases.ApplicationRecorderTestCase):
    def create_recorder(self) -> InnerUniverseApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, InnerUniverseApplicationRecorder)
        return recorder

    def test_insert_subscribe(self) -> None:
        # The library keeps this case optional; the SQL modules run it, so does this one.
        self.optional_test_insert_subscribe()


class TestNonInterleavingNotificationIds(
    FactoryPerTest, recorder_cases.NonInterleavingNotificationIDsBaseCase
):
    def create_recorder(self) -> InnerUniverseApplicationRecorder:
        recorder = self.factory.application_recorder()
        assert isinstance(recorder, InnerUniverseApplicationRecorder)
        return recorder


class TestTrackingRecorder(FactoryPerTest, recorder_cases.TrackingRecorderTestCase):
    def create_recorder(self) -> InnerUniverseTrackingRecorder:
        return self.factory.tracking_recorder()


class TestProcessRecorder(FactoryPerTest, recorder_cases.ProcessRecorderTestCase):
    def create_recorder(self) -> InnerUniverseProcessRecorder:
        recorder = self.factory.process_recorder()
        assert isinstance(recorder, InnerUniverseProcessRecorder)
        return recorder


class CustomTrackingRecorder(InnerUniverseTrackingRecorder):
    """The subclass the factory case chooses by argument and by topic."""


class TestInfrastructureFactory(recorder_cases.InfrastructureFactoryTestCase[InnerUniverseFactory]):
    def setUp(self) -> None:
        self.env = Environment("TestCase", dict(os.environ))
        super().setUp()

    def expected_factory_class(self) -> type[InnerUniverseFactory]:
        return InnerUniverseFactory

    def expected_aggregate_recorder_class(self) -> type[InnerUniverseAggregateRecorder]:
        return InnerUniverseAggregateRecorder

    def expected_application_recorder_class(self) -> type[InnerUniverseApplicationRecorder]:
        return InnerUniverseApplicationRecorder

    def expected_tracking_recorder_class(self) -> type[InnerUniverseTrackingRecorder]:
        return InnerUniverseTrackingRecorder

    def tracking_recorder_subclass(self) -> type[InnerUniverseTrackingRecorder]:
        return CustomTrackingRecorder

    def expected_process_recorder_class(self) -> type[InnerUniverseProcessRecorder]:
        return InnerUniverseProcessRecorder


class TestExampleApplication(cases.ExampleApplicationTestCase):
    expected_factory_topic = get_topic(InnerUniverseFactory)


class TestApplication(cases.ApplicationTestCase):
    """The library's application cases, with the environment naming this module."""
