package approval_test

import (
	"os"
	"testing"

	"secondment/internal/dbtest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }
