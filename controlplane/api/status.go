package api

import (
	"net/http"
	"time"

	"github.com/nscale/nscale/controlplane/apitypes"
	"github.com/nscale/nscale/internal/apierr"
)

func (s *server) status(w http.ResponseWriter, r *http.Request) error {
	detail, err := boolParam(r, "detail")
	if err != nil {
		return err
	}
	ctx := r.Context()
	if detail {
		// Component messages name the store, its address and the errors
		// of dependencies: operators' business, not users'.
		admin, err := s.isAdmin(r)
		if err != nil {
			return err
		}
		if !admin {
			return apierr.New(apierr.PermissionDenied, "status detail is for administrators (the admin token or the catalog_admin role); ask without detail=true")
		}
	}
	rep := s.cfg.Health.Check(ctx)
	st := apitypes.Status{
		Service:       "nscale-controlplane",
		Version:       s.cfg.Version,
		Code:          string(rep.Code),
		StoreDialect:  string(s.cfg.Store.Dialect()),
		StartedAt:     s.cfg.Started.UTC(),
		UptimeSeconds: time.Since(s.cfg.Started).Round(time.Millisecond).Seconds(),
		ReadOnly:      s.cfg.ReadOnly,
	}
	if st.SchemaVersion, err = s.cfg.Store.SchemaVersion(ctx); err != nil {
		return apierr.Wrap(apierr.Unavailable, err, "store unavailable")
	}
	if st.AgentCount, err = s.cfg.Store.CountAgents(ctx, time.Time{}); err != nil {
		return apierr.Wrap(apierr.Unavailable, err, "store unavailable")
	}
	if detail {
		for _, c := range rep.Components {
			st.Components = append(st.Components, apitypes.Component{
				Name: c.Name, Code: string(c.Code), Message: c.Message,
				Timestamp: c.Timestamp.UTC(), ElapsedMS: c.ElapsedMS,
			})
		}
		if st.Agents, err = s.statusAgents(r); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// isAdmin reports whether the caller is the bootstrap admin or holds the
// catalog_admin role.
func (s *server) isAdmin(r *http.Request) (bool, error) {
	p := principalOf(r)
	if p.Bootstrap {
		return true, nil
	}
	if s.cfg.Catalog == nil {
		return false, nil
	}
	return s.cfg.Catalog.IsAdmin(r.Context(), p)
}
