"""Request datasets: the hive-partitioned request dataset (upsert) and request_daily."""
