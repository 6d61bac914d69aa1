package cri

import (
	"context"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func imageRef(field string, spec *runtimeapi.ImageSpec) (string, error) {
	if spec == nil {
		return "", invalid(field, "required")
	}
	return spec.GetImage(), required(field+".image", spec.GetImage())
}

func (s *Server) ListImages(ctx context.Context, req *runtimeapi.ListImagesRequest) (*runtimeapi.ListImagesResponse, error) {
	imgs, err := s.backend.ListImages(ctx, req.GetFilter())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ListImagesResponse{Images: imgs}, nil
}

func (s *Server) ImageStatus(ctx context.Context, req *runtimeapi.ImageStatusRequest) (*runtimeapi.ImageStatusResponse, error) {
	ref, err := imageRef("image", req.GetImage())
	if err != nil {
		return nil, statusOf(err)
	}
	img, err := s.backend.ImageStatus(ctx, ref)
	if err != nil {
		return nil, statusOf(err)
	}
	resp := &runtimeapi.ImageStatusResponse{Image: img}
	if req.GetVerbose() && img != nil {
		resp.Info = map[string]string{}
	}
	return resp, nil
}

func (s *Server) PullImage(ctx context.Context, req *runtimeapi.PullImageRequest) (*runtimeapi.PullImageResponse, error) {
	ref, err := imageRef("image", req.GetImage())
	if err != nil {
		return nil, statusOf(err)
	}
	got, err := s.backend.PullImage(ctx, ref, req.GetAuth())
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.PullImageResponse{ImageRef: got}, nil
}

func (s *Server) RemoveImage(ctx context.Context, req *runtimeapi.RemoveImageRequest) (*runtimeapi.RemoveImageResponse, error) {
	ref, err := imageRef("image", req.GetImage())
	if err != nil {
		return nil, statusOf(err)
	}
	// Removing an image that is not there is a success in the CRI.
	if err := ignoreNotFound(s.backend.RemoveImage(ctx, ref)); err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.RemoveImageResponse{}, nil
}

func (s *Server) ImageFsInfo(ctx context.Context, _ *runtimeapi.ImageFsInfoRequest) (*runtimeapi.ImageFsInfoResponse, error) {
	fs, err := s.backend.ImageFsInfo(ctx)
	if err != nil {
		return nil, statusOf(err)
	}
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: fs}, nil
}
