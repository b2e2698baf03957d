"""An application instrumented with nothing but the OpenTelemetry SDK, logging to the register.

No code of this project is imported: the register is reached with exporter configuration only.

    export OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:8000/v1/traces
    export OTEL_EXPORTER_OTLP_TRACES_HEADERS="Authorization=Bearer%20$(verwerkingenlog token demo-normaal)"
    python -m examples.otel_app 999993653

It logs two processings of a parking-permit application about the person whose BSN is given, each a span with
the Logboek Dataverwerkingen attributes (docs/logboek.md), and prints the trace id. Afterwards the citizen sees
them in the portal and through the Inzage API, beside the entries logged through the VNG API.
"""

from __future__ import annotations

import argparse
import os

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Status, StatusCode

# The parking-permit activity in the municipality's register of processing activities (one URI per version).
ACTIVITY = os.environ.get(
    "PROCESSING_ACTIVITY_ID",
    "https://var.example.nl/api/v1/verwerkingsactiviteit/5f0bef4c-f66f-4311-84a5-19e8bf359eaf",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bsn", help="the (fictitious) citizen the processings are about")
    args = parser.parse_args()
    # Endpoint and headers come from OTEL_EXPORTER_OTLP_TRACES_*; Logius forbids sampling, hence ALWAYS_ON.
    provider = TracerProvider(resource=Resource.create({"service.name": "parkeervergunningen"}), sampler=ALWAYS_ON)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("parkeervergunningen")
    subject = {
        "dpl.core.processing_activity_id": ACTIVITY,
        "dpl.core.data_subject_id": args.bsn,
        "dpl.core.data_subject_id_type": "BSN",
    }
    with tracer.start_as_current_span("Aanvraag parkeervergunning", attributes=subject) as request:
        with tracer.start_as_current_span("Raadplegen kentekenregistratie", attributes=subject):
            pass
        request.set_status(Status(StatusCode.OK))
        trace_id = format(request.get_span_context().trace_id, "032x")
    provider.shutdown()  # flushes: every span is exported before the program ends
    print(trace_id)


if __name__ == "__main__":
    main()
