"""SLA breach risk of open requests (`models.sla.risk`)."""
