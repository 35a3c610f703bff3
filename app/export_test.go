package app

// SetPrincipalCacheMax lowers the size bound of c so that tests can reach it.
func SetPrincipalCacheMax(c *PrincipalCache, n int) { c.max = n }
