package provision

// SetAfterStep has s call fn once each step has done its work, before that is stored.
func SetAfterStep(s *Service, fn func(step string)) { s.afterStep = fn }
