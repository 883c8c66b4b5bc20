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
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
