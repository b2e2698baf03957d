"""Open Verwerkingenlog: a register of processings of personal data (VNG Verwerkingenlogging)."""

__version__ = "0.1.0"
PRODUCT_NAME = "Open Verwerkingenlog"
