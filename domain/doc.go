// Package domain is the centre of the hexagon: Schemata's entities, value objects,
// invariants and coded errors. It imports only the standard library; every other
// package of the module depends on it, never the reverse.
package domain
