from node.accounts.models import Role


class TestSkeleton:
    async def test_health_and_node_document(self, node):
        assert (await node.client.get("/healthz")).json() == {"status": "ok"}
        ready = await node.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        doc = (await node.client.get("/.well-known/coalition-node")).json()
        assert doc["id"] == "http://ward33.test"
        assert doc["keys"]["keys"][0]["crv"] == "Ed25519"

    async def test_roles(self, node):
        admin = await node.as_role(Role.admin)
        member = await node.as_role(Role.member)
        assert (await admin.get("/api/v1/users")).status_code == 200
        r = await member.get("/api/v1/users")
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "permission_denied"
