package hello

import (
	"context"
	"os"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

// dbConfig is the config of the DB field in a test: an SQLite file in a
// temp dir of the test's own, as the field opens with no url; with
// DATABASE_URL set (a Postgres of CI's, say), that database.
func dbConfig(t testing.TB) string {
	if url := os.Getenv("DATABASE_URL"); url != "" {
		return "db: {url: " + url + "}\n"
	}
	return "db: {data_dir: " + t.TempDir() + "}\n"
}

// The DB field holds a real database: a table written is read back.
func TestServiceDB(t *testing.T) {
	t.Parallel()
	s := &Service{}
	toiltest.Run(t, s, toiltest.Config(testConfig(t))).WaitReady()
	ctx := context.Background()
	if _, err := s.DB.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS greetings (name TEXT PRIMARY KEY)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := s.DB.ExecContext(ctx, "INSERT INTO greetings (name) VALUES ($1) ON CONFLICT DO NOTHING", "ann"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var name string
	if err := s.DB.QueryRowContext(ctx, "SELECT name FROM greetings WHERE name = $1", "ann").Scan(&name); err != nil || name != "ann" {
		t.Fatalf("select = %q, %v; want ann", name, err)
	}
}
