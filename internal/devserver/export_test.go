package devserver

// SetPickPort makes Start pick its ports with f until restore is called.
func SetPickPort(f func() (int, error)) (restore func()) {
	old := pickPort
	pickPort = f
	return func() { pickPort = old }
}
