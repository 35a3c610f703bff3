package domain

import (
	"errors"
	"fmt"
)

// Code classifies an Error so that adapters can map it (HTTP status, exit code)
// without inspecting messages.
type Code string

// The error codes of the domain and the application.
const (
	CodeInvalid         Code = "invalid"           // bad input; nothing changed
	CodeNotFound        Code = "not_found"         // absent, or belongs to another tenant
	CodeConflict        Code = "conflict"          // uniqueness or state conflict
	CodeUnauthenticated Code = "unauthenticated"   // no or bad credentials
	CodeForbidden       Code = "forbidden"         // authenticated, not allowed
	CodeTooManyRequests Code = "too_many_requests" // rate limited
	CodeUnavailable     Code = "unavailable"       // a dependency is down or a feature is off
	CodeInternal        Code = "internal"          // a bug or an unexpected failure
)

// Error is the coded error every layer returns for expected failures.
// Field names the offending input field for CodeInvalid.
type Error struct {
	Code    Code
	Message string
	Field   string
	Err     error // optional cause, never shown to clients
}

func (e *Error) Error() string {
	msg := string(e.Code) + ": " + e.Message
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports bad input in the named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports an absent entity.
func NotFound(entity string) *Error {
	return &Error{Code: CodeNotFound, Message: entity + " not found"}
}

// Conflict reports a uniqueness or state conflict.
func Conflict(format string, args ...any) *Error {
	return Errorf(CodeConflict, format, args...)
}

// ErrorCode returns the code of err, CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsCode reports whether err carries code.
func IsCode(err error, code Code) bool {
	return err != nil && ErrorCode(err) == code
}
