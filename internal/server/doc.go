// Package server is Berth's HTTP surface: echo with small middlewares (request id, logging
// and metrics, body limit, route lookup, authentication, OpenAPI request validation,
// idempotency keys), the one error handler that writes application/problem+json, and thin
// handlers that implement the generated strict server by mapping API types to domain calls.
// Handlers hold no SQL and no client-go; domain packages never see echo.
package server
