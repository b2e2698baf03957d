// A real OpenID provider for the portal's and the admin pages' login tests (the certified `oidc-provider` package).
// Its development login form takes the BSN as the account name and puts it in the `bsn` claim,
// the way a DigiD broker passes the BSN (and `GEMACHTIGDE-namens-BSN` a DigiD Machtigen login, see findAccount). For employees (the admin pages) an account named `beheerder-…` or `fg-…`
// is in the group `verwerkingenlog-beheerder` or `verwerkingenlog-fg` (claim `groups`, scope `groups`), and the
// account name is its `name` (scope `profile`). Usage: node oidc_provider.mjs PORT CLIENT_ID SECRET REDIRECT_URI
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ["authorization_code"],
      response_types: ["code"],
    },
  ],
  claims: { openid: ["sub", "bsn", "aanvrager"], profile: ["name"], groups: ["groups"] },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    const groups = id.startsWith("beheerder-") ? ["verwerkingenlog-beheerder"]
      : id.startsWith("fg-") ? ["verwerkingenlog-fg"] : [];
    // DigiD Machtigen through a broker: an account `GEMACHTIGDE-namens-VERTEGENWOORDIGDE` logs in as the first and
    // carries the second as `aanvrager.bsn`, the person represented.
    const [bsn, namens] = id.split("-namens-");
    const aanvrager = namens ? { aanvrager: { bsn: namens } } : {};
    return { accountId: id, async claims() { return { sub: id, bsn, name: id, groups, ...aanvrager }; } };
  },
});
provider.listen(Number(port), "127.0.0.1", () => console.log("ready"));
