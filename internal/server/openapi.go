package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"
)

const (
	ctxRoute   = "berth.route"
	scimPrefix = "/scim/v2"
)

type matchedRoute struct {
	route  *routers.Route
	params map[string]string
}

// findRoute matches the request against the OpenAPI document and names its operation, for
// logs, metrics and the middlewares after it. Unknown paths and methods end here.
func findRoute(router routers.Router) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// SCIM is a protocol of its own (RFC 7644), outside the OpenAPI document.
			if p := c.Request().URL.Path; p == scimPrefix || strings.HasPrefix(p, scimPrefix+"/") {
				c.Set(ctxOperationID, "scim")
				return next(c)
			}
			route, params, err := router.FindRoute(c.Request())
			switch {
			case errors.Is(err, routers.ErrMethodNotAllowed):
				return echo.NewHTTPError(http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s", c.Request().Method, c.Request().URL.Path))
			case err != nil:
				return echo.NewHTTPError(http.StatusNotFound, "no such path: "+c.Request().URL.Path)
			}
			c.Set(ctxOperationID, route.Operation.OperationID)
			c.Set(ctxRoute, matchedRoute{route: route, params: params})
			return next(c)
		}
	}
}

// authenticate checks the bearer token of every operation that the document secures.
func authenticate(a *auth.Authenticator, admins *access.Admins, deactivated func(context.Context, string) (bool, error)) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			mr, _ := c.Get(ctxRoute).(matchedRoute)
			if mr.route == nil || !secured(mr.route) {
				return next(c)
			}
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, _ := strings.Cut(h, " ")
			if !strings.EqualFold(scheme, "bearer") {
				token = ""
			}
			id, err := a.Authenticate(c.Request().Context(), strings.TrimSpace(token))
			if err != nil {
				return err
			}
			if deactivated != nil && id.Method != auth.MethodServiceToken {
				off, err := deactivated(c.Request().Context(), id.Subject)
				if err != nil {
					return err
				}
				if off {
					return fmt.Errorf("%w: the identity provider has deactivated this account", errs.ErrUnauthenticated)
				}
			}
			p := admins.Principal(id)
			c.SetRequest(c.Request().WithContext(access.WithPrincipal(c.Request().Context(), p)))
			return next(c)
		}
	}
}

func secured(r *routers.Route) bool {
	sec := r.Spec.Security
	if r.Operation.Security != nil {
		sec = *r.Operation.Security
	}
	return len(sec) > 0
}

// validate checks parameters and body against the document. Malformed syntax is a 400;
// well-formed values that break the schema are a 422; both name each field.
func validate() echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		MultiError:              true,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.EnableFormatValidation()},
		AuthenticationFunc:      func(context.Context, *openapi3filter.AuthenticationInput) error { return nil },
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			mr, _ := c.Get(ctxRoute).(matchedRoute)
			if mr.route == nil {
				return next(c)
			}
			in := &openapi3filter.RequestValidationInput{Request: c.Request(), PathParams: mr.params, Route: mr.route, Options: opts}
			if err := openapi3filter.ValidateRequest(c.Request().Context(), in); err != nil {
				if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
					return echo.ErrStatusRequestEntityTooLarge
				}
				return requestProblem(err)
			}
			return next(c)
		}
	}
}

// requestProblem converts kin-openapi's errors into problem fields.
func requestProblem(err error) error {
	p := &httpProblem{status: http.StatusUnprocessableEntity, slug: "invalid", detail: "the request does not match the API"}
	var walk func(error)
	walk = func(err error) {
		var re *openapi3filter.RequestError
		var se *openapi3.SchemaError
		var me openapi3.MultiError
		switch {
		case errors.As(err, &re):
			requestErrorFields(p, re)
		case errors.As(err, &se):
			p.fields = append(p.fields, schemaField(se))
		case errors.As(err, &me):
			for _, e := range me {
				walk(e)
			}
		default:
			p.fields = append(p.fields, errs.Field{Detail: err.Error()})
		}
	}
	walk(err)
	sort.SliceStable(p.fields, func(i, j int) bool { return p.fields[i].Pointer < p.fields[j].Pointer })
	return p
}

func requestErrorFields(p *httpProblem, re *openapi3filter.RequestError) {
	switch {
	case re.Parameter != nil:
		p.status, p.slug = http.StatusBadRequest, "bad-request"
		p.fields = append(p.fields, errs.Field{Parameter: re.Parameter.Name, Detail: paramDetail(re)})
	case re.RequestBody != nil:
		var inner openapi3.MultiError
		var se *openapi3.SchemaError
		switch {
		case errors.As(re.Err, &inner):
			for _, e := range inner {
				p.fields = append(p.fields, schemaField(e))
			}
		case errors.As(re.Err, &se):
			p.fields = append(p.fields, schemaField(se))
		default:
			// Not a schema failure: the body is missing, not JSON, or of another media type.
			p.status, p.slug = http.StatusBadRequest, "bad-request"
			p.fields = append(p.fields, errs.Field{Pointer: "", Detail: bodyDetail(re)})
		}
	default:
		p.fields = append(p.fields, errs.Field{Detail: re.Reason})
	}
}

var unsupportedProperty = regexp.MustCompile(`^property "(.*)" is unsupported$`)

func schemaField(err error) errs.Field {
	var se *openapi3.SchemaError
	if !errors.As(err, &se) {
		return errs.Field{Detail: err.Error()}
	}
	ptr := "/" + strings.Join(se.JSONPointer(), "/")
	if ptr == "/" {
		ptr = ""
	}
	reason := se.Reason
	// kin-openapi points at the object; point at the unknown member itself.
	if m := unsupportedProperty.FindStringSubmatch(se.Reason); m != nil {
		ptr += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(m[1])
		reason = "unknown field"
	}
	return errs.Field{Pointer: ptr, Detail: reason}
}

func paramDetail(re *openapi3filter.RequestError) string {
	var se *openapi3.SchemaError
	if errors.As(re.Err, &se) {
		return se.Reason
	}
	if re.Err != nil {
		var pe *openapi3filter.ParseError
		if errors.As(re.Err, &pe) {
			return pe.Reason
		}
		return re.Err.Error()
	}
	return re.Reason
}

func bodyDetail(re *openapi3filter.RequestError) string {
	if re.Err == nil {
		return re.Reason
	}
	var pe *openapi3filter.ParseError
	if errors.As(re.Err, &pe) {
		detail := "the body is not valid JSON"
		if pe.Cause != nil {
			detail += ": " + pe.Cause.Error()
		} else if pe.Reason != "" {
			detail += ": " + pe.Reason
		}
		return detail
	}
	return re.Err.Error()
}

var defineFormats sync.Once

func newRouter(doc *openapi3.T) (routers.Router, error) {
	// kin-openapi keeps string formats in a process-wide table; uuid is not in it by default.
	defineFormats.Do(func() {
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC4122))
	})
	// Servers would make the router insist on a host; any host may reach Berth.
	doc.Servers = nil
	return gorillamux.NewRouter(doc)
}
