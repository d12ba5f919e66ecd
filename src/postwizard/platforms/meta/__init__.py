"""What the Facebook Pages and Instagram adapters share: Meta's Graph API.

Why hand-written httpx and not Meta's SDK: the official `facebook-business` SDK is synchronous
(requests) and built for the Marketing API; `facebook-sdk` is unmaintained. PostWizard needs a
dozen documented endpoints, the one distinction the engine lives by (was the create sent before
the connection failed?) and the error `code` of each answer, which is what the two small modules
here give: `graph` (requests, paging, `appsecret_proof`) and `errors` (what each error means).
`login` is Facebook Login (one sign-in, many Pages), `media_urls` the check that Meta can fetch
PostWizard's media, `base` the adapters' shared constructor and helpers.

The Graph API version is a setting (`POSTWIZARD_GRAPH_API_VERSION`), not a constant: Meta
retires versions about two years after release.
"""
