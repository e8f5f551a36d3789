package devserver_test
import ("testing";"context";"time"
 "github.com/blueprint-etl/blueprint/internal/devserver")
func TestStart(t *testing.T){ s:=time.Now(); srv:=devserver.ForTest(t); _, err := srv.Client().CheckHealth(context.Background(), nil); if err!=nil{t.Fatal(err)}; t.Log(time.Since(s), srv.FrontendHostPort())}
