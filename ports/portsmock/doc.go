// Package portsmock holds moq-generated fakes of every port, for fast unit tests
// of app without a database. Regenerate with `go generate ./...`; never edit
// ports_mock.go by hand.
package portsmock
