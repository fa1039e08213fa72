#!/bin/sh
# The demo-postgres image's entrypoint (hack/images.sh puts Debian's
# PostgreSQL bin directory in place of @PGBIN@): initdb into $PGDATA when it
# holds no cluster yet (an emptyDir on a pod's first start), then the server
# in the foreground as this process (exec), so it gets the container's
# signals. Clients on the pod network connect without a password (trust):
# it is the load target of test/workloads, not a database to keep.
set -eu
bin=@PGBIN@
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  "$bin/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --locale=C
  echo "host all all 0.0.0.0/0 trust" >>"$PGDATA/pg_hba.conf"
fi
# The socket goes to /tmp: Debian's compiled-in /var/run/postgresql is not
# in the image. jit is off: the image leaves out the LLVM JIT module.
exec "$bin/postgres" -D "$PGDATA" -c listen_addresses='*' -c port=5432 \
  -c unix_socket_directories=/tmp -c jit=off "$@"
