/** What `burrow config init` writes: a commented starter file that passes `burrow config check`. */
export const STARTER_FILE = `# burrow.yml: the tunnels \`burrow start\` opens, all over one connection to the server.
#
# The file speaks the CLI's words. Each tunnel has a name (yours to choose: \`burrow start web\`
# starts that one only), a kind with its local service, as on the command line
# (\`http: 3000\`, \`http: http://localhost:3000\`, \`tcp: 5432\`), and any long flag of that command
# as a key, without the dashes in front (\`burrow http --help\`, \`burrow tcp --help\`):
# subdomain, basic-auth, allow-ip, local-https, remote-port ...
# \${NAME} is the environment variable NAME (\${NAME:-default} when it may be unset; inside
# { } write it in quotes: "\${NAME}"). \`burrow config check\` lists every problem with its line.

# The burrow server (--server or BURROW_SERVER win over it).
server: http://localhost:8080

# The access token, when the server requires one: keep it out of the file, in the environment.
token: \${BURROW_TOKEN:-}

tunnels:
  # A web app on local port 3000, at http(s)://myapp.<the server's domain>
  web:
    http: 3000
    subdomain: myapp

  # An API that asks visitors for a password, from these networks only:
  # api:
  #   http: http://localhost:8000
  #   basic-auth: "me:\${API_PASSWORD}"
  #   allow-ip: [10.0.0.0/8, 192.168.0.0/16]

  # A database: a public TCP port (when the server has --tcp-ports) and WebSocket access.
  # db:
  #   tcp: 5432
`;
