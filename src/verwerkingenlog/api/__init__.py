"""HTTP: one router per API; routers translate HTTP to service calls and hold no rule."""
