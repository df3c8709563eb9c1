package web

import (
	"strconv"

	"secondment/internal/secondment"
)

// shanghai is the zone every time is shown in.
var shanghai = secondment.Shanghai

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
