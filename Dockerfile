# Parley: a static binary in a distroless image, run as a non-root user.
#   docker build -t parley .
#   docker run -p 3000:3000 parley                       # one node, in-memory stores
#   docker run -e PARLEY_REDIS_URL=redis://redis:6379 …  # a cluster node

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off gives a static binary that needs no libc in the final image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/parley ./cmd/parley

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/parley /parley
USER nonroot:nonroot
EXPOSE 3000
ENTRYPOINT ["/parley"]
