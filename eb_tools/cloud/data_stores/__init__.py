"""Real data servers behind the emulated RDS and ElastiCache: a MariaDB server (and its binary-log replicas)
for each AWS::RDS::DBInstance and a redis-server for each ElastiCache replication group, reachable at the
endpoints their stack outputs. Only a cloud given a data folder runs them (LocalCloud(data_dir=...)); without
one the resources are records only, as moto keeps them."""
