package knowledge

// SQLite keeps statistics of its memory use by default, and to keep them
// it takes one mutex, shared by every connection in the process, around
// each allocation. Parley reads none of them, and the mutex serializes
// queries that should run side by side: the bot answering several members
// at once, or an import's reader beside its writer. Turning the statistics
// off is what SQLite's own list of recommended compile-time options
// advises (SQLITE_DEFAULT_MEMSTATUS=0); go-sqlite3 does not set it, and
// the setting must be made before SQLite initializes, so it is made here,
// through SQLite's C interface, when the package loads. go-sqlite3 links
// SQLite into the binary, so sqlite3_config is there to call.

/*
extern int sqlite3_config(int, ...);
extern long long sqlite3_memory_used(void);

// sqlite3_config is variadic, which cgo cannot call directly.
static int parley_memstatus_off(void) {
	return sqlite3_config(9, 0); // SQLITE_CONFIG_MEMSTATUS
}
*/
import "C"

// memstatusResult is SQLite's answer to turning its memory statistics off:
// 0 when it took effect. Any other value (SQLITE_MISUSE if something had
// initialized SQLite first) leaves SQLite working as before, only slower
// under concurrent queries.
var memstatusResult = int(C.parley_memstatus_off())

// sqliteMemoryUsed returns SQLite's count of the memory it holds, which
// stays 0 while the statistics are off.
func sqliteMemoryUsed() int64 { return int64(C.sqlite3_memory_used()) }
